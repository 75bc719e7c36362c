package remotebuild

import (
	"encoding/json"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/bake"
)

// targets is a bake file's evaluated targets: app takes base's root filesystem, a directory of
// the repository and an image as named contexts; tool is plain.
func targets() []*bake.Target {
	return []*bake.Target{
		{Name: "base", Context: "base", Dockerfile: "Dockerfile", Tags: []string{"reg.test/base:1"}},
		{Name: "app", Context: "app", Dockerfile: "build/Dockerfile", Target: "prod",
			Args: map[string]string{"B": "2", "A": "1"}, Labels: map[string]string{"z": "last", "a": "first"},
			Contexts: map[string]string{"base": "target:base", "assets": "./web/assets", "golang": "docker-image://mirror/golang:1.26"},
			Secrets:  []bake.Secret{{ID: "npm"}, {ID: "absent"}},
			Tags:     []string{"reg.test/app:1"}},
		{Name: "tool", Context: ".", Dockerfile: "Dockerfile", Tags: []string{"reg.test/tool:1"}},
		{Name: "inline", Context: ".", Dockerfile: "Dockerfile", DockerfileInline: "FROM scratch\n", Tags: []string{"reg.test/inline:1"},
			Annotations: []string{"org.example.all=1", "manifest[linux/arm64]:org.example.arm=yes", "index:org.example.i=not-here"}},
		{Name: "inlinectx", Context: ".", Dockerfile: "Dockerfile", DockerfileInline: "FROM base\n",
			Contexts: map[string]string{"base": "docker-image://mirror/debian:13"}},
	}
}

const appDockerfile = "FROM golang AS build\nCOPY --from=base /etc/os-release /x\nCOPY --from=assets . /assets\nFROM build AS prod\n"

func readDockerfile(t *bake.Target) (string, error) {
	if t.Name == "app" {
		return appDockerfile, nil
	}
	return "", errors.New("no such file")
}

func TestSteps(t *testing.T) {
	secrets := []Secret{{ID: "npm", Env: "S0"}, {ID: "other", Env: "S1"}}
	for _, tc := range []struct {
		name   string
		builds []Build
		want   []Step
	}{
		{
			name:   "plain target",
			builds: []Build{{Target: "tool", Platform: "linux/arm64", Push: "reg.test/tool:1-arm64"}},
			want:   []Step{{Target: "tool", Platform: "linux/arm64", Context: ".", Dockerfile: "Dockerfile", Push: "reg.test/tool:1-arm64"}},
		},
		{
			name:   "dependency first, built only as a context; args and labels sorted; the given secret",
			builds: []Build{{Target: "app", Platform: "linux/arm64", Push: "reg.test/app:1-arm64"}},
			want: []Step{
				{Target: "base", Platform: "linux/arm64", Context: "base", Dockerfile: "Dockerfile"},
				{Target: "app", Platform: "linux/arm64", Context: "app", Dockerfile: ".shipyard-contexts/Dockerfile.app",
					DockerfileText: "FROM mirror/golang:1.26 AS build\nCOPY .shipyard-contexts/base/etc/os-release /x\nCOPY .shipyard-contexts/assets /assets\nFROM build AS prod\n",
					Dirs:           []Dir{{Path: ".shipyard-contexts/assets", Repo: "web/assets"}, {Path: ".shipyard-contexts/base", Target: "base"}},
					Args:           []KV{{"A", "1"}, {"B", "2"}}, Stage: "prod", Labels: []KV{{"a", "first"}, {"z", "last"}},
					Secrets: []int{0}, Push: "reg.test/app:1-arm64"},
			},
		},
		{
			name:   "dockerfile-inline is written into the build context, never read from the repository",
			builds: []Build{{Target: "inline", Platform: "linux/arm64"}, {Target: "inlinectx", Platform: "linux/arm64"}},
			want: []Step{
				{Target: "inline", Platform: "linux/arm64", Context: ".", Dockerfile: ".shipyard-contexts/Dockerfile.inline", DockerfileText: "FROM scratch\n",
					Annotations: []KV{{"org.example.all", "1"}, {"org.example.arm", "yes"}}},
				{Target: "inlinectx", Platform: "linux/arm64", Context: ".", Dockerfile: ".shipyard-contexts/Dockerfile.inlinectx", DockerfileText: "FROM mirror/debian:13\n"},
			},
		},
		{
			name: "a dependency also asked for is pushed, once per platform",
			builds: []Build{
				{Target: "app", Platform: "linux/arm64", Push: "reg.test/app:1-arm64"},
				{Target: "base", Platform: "linux/arm64", Push: "reg.test/base:1-arm64"},
				{Target: "base", Platform: "linux/arm/v7", Push: "reg.test/base:1-armv7"},
			},
			want: []Step{
				{Target: "base", Platform: "linux/arm64", Context: "base", Dockerfile: "Dockerfile", Push: "reg.test/base:1-arm64"},
				{Target: "app", Platform: "linux/arm64", Context: "app", Dockerfile: ".shipyard-contexts/Dockerfile.app",
					DockerfileText: "FROM mirror/golang:1.26 AS build\nCOPY .shipyard-contexts/base/etc/os-release /x\nCOPY .shipyard-contexts/assets /assets\nFROM build AS prod\n",
					Dirs:           []Dir{{Path: ".shipyard-contexts/assets", Repo: "web/assets"}, {Path: ".shipyard-contexts/base", Target: "base"}},
					Args:           []KV{{"A", "1"}, {"B", "2"}}, Stage: "prod", Labels: []KV{{"a", "first"}, {"z", "last"}},
					Secrets: []int{0}, Push: "reg.test/app:1-arm64"},
				{Target: "base", Platform: "linux/arm/v7", Context: "base", Dockerfile: "Dockerfile", Push: "reg.test/base:1-armv7"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Steps(targets(), tc.builds, secrets, readDockerfile)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Steps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStepsErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		targets []*bake.Target
		read    func(*bake.Target) (string, error)
		want    string
	}{
		{
			name:    "unknown target",
			targets: nil,
			want:    "build app [linux/arm64]: no such target in the bake file",
		},
		{
			name:    "dependency not in the build",
			targets: []*bake.Target{{Name: "app", Context: ".", Dockerfile: "Dockerfile", Contexts: map[string]string{"base": "target:gone"}}},
			want:    "target app: context base refers to target:gone, which is not part of this build",
		},
		{
			name:    "unsupported scheme",
			targets: []*bake.Target{{Name: "app", Context: ".", Dockerfile: "Dockerfile", Contexts: map[string]string{"src": "https://example.com/x.git"}}},
			want:    `target app: context src = "https://example.com/x.git": only target:, docker-image:// and local paths are supported`,
		},
		{
			name:    "dependency cycle",
			targets: []*bake.Target{{Name: "app", Context: ".", Dockerfile: "Dockerfile", Contexts: map[string]string{"me": "target:app"}}},
			want:    "target app: its contexts depend on it again (app -> app)",
		},
		{
			name:    "unreadable Dockerfile",
			targets: []*bake.Target{{Name: "app", Context: "svc", Dockerfile: "Dockerfile", Contexts: map[string]string{"x": "./x"}}},
			read:    func(*bake.Target) (string, error) { return "", errors.New("no such file") },
			want:    "target app: reading svc/Dockerfile: no such file",
		},
		{
			name:    "Dockerfile the contexts cannot be emulated in",
			targets: []*bake.Target{{Name: "app", Context: ".", Dockerfile: "Dockerfile", Contexts: map[string]string{"x": "./x"}}},
			read:    func(*bake.Target) (string, error) { return "FROM x\n", nil },
			want:    "target app: ",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := tc.read
			if read == nil {
				read = readDockerfile
			}
			_, err := Steps(tc.targets, []Build{{Target: "app", Platform: "linux/arm64", Push: "reg.test/app:1-arm64"}}, nil, read)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want it to start with %q", err, tc.want)
			}
		})
	}
}

func testPlan(t *testing.T) Plan {
	t.Helper()
	steps, err := Steps(targets(), []Build{
		{Target: "app", Platform: "linux/arm64", Push: "reg.test/app:1-arm64"},
		{Target: "tool", Platform: "linux/arm64", Push: "reg.test/tool:1-arm64"},
	}, []Secret{{ID: "npm", Env: "SHIPYARD_BUILD_SECRET_0"}}, readDockerfile)
	if err != nil {
		t.Fatal(err)
	}
	return Plan{Source: "/src", Steps: steps, Secrets: []Secret{{ID: "npm", Env: "SHIPYARD_BUILD_SECRET_0"}},
		Auth: []Auth{{Address: "reg.test", Username: "ci", Env: "SHIPYARD_REGISTRY_PASSWORD_0"}}}
}

func TestRender(t *testing.T) {
	d, err := testPlan(t).Render()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range d.Files {
		names = append(names, name)
	}
	wantFiles := []string{"q/b0.graphql", "q/b0.jq", "q/b1.graphql", "q/b1.jq", "q/b2.graphql", "q/b2.jq", "q/p1.graphql", "q/p1.jq",
		"q/p2.graphql", "q/p2.jq", "q/secrets.graphql", "q/secrets.jq", "q/upload.graphql", "q/upload.jq", "run.sh"}
	if diff := cmp.Diff(wantFiles, sortedStrings(names)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ file, want string }{
		{"q/upload.graphql", "query Upload($source: String!, $d0: String!) { host { directory(path: $source) { id d0: directory(path: $d0) { id } } } }\n"},
		{"q/upload.jq", `{query: $doc, variables: {"source": "/src", "d0": "web/assets"}}` + "\n"},
		{"q/secrets.graphql", "query Secrets($r0: String!, $n0: String!, $v0: String!) { r0: secret(uri: $r0) { id } s0: setSecret(name: $n0, plaintext: $v0) { id } }\n"},
		{"q/secrets.jq", `{query: $doc, variables: {"r0": "env://SHIPYARD_REGISTRY_PASSWORD_0", "n0": "npm", "v0": env.SHIPYARD_BUILD_SECRET_0}}` + "\n"},
		{"q/b0.graphql", "query B0($src: DirectoryID!, $context: String!, $platform: Platform!, $dockerfile: String!) { r: loadDirectoryFromID(id: $src) { c: directory(path: $context) { c: dockerBuild(platform: $platform, dockerfile: $dockerfile) { built: sync rootfs { id } } } } }\n"},
		{"q/b1.graphql", "query B1($src: DirectoryID!, $context: String!, $dir0: DirectoryID!, $path0: String!, $dir1: DirectoryID!, $path1: String!, " +
			"$dockerfilePath: String!, $dockerfileText: String!, $platform: Platform!, $dockerfile: String!, $buildArgs: [BuildArg!], $stage: String!, $secrets: [SecretID!], " +
			"$label0: String!, $value0: String!, $label1: String!, $value1: String!) { r: loadDirectoryFromID(id: $src) { c: directory(path: $context) { " +
			"c: withDirectory(path: $path0, source: $dir0) { c: withDirectory(path: $path1, source: $dir1) { c: withNewFile(path: $dockerfilePath, contents: $dockerfileText) { " +
			"c: dockerBuild(platform: $platform, dockerfile: $dockerfile, buildArgs: $buildArgs, target: $stage, secrets: $secrets) { " +
			"c: withLabel(name: $label0, value: $value0) { c: withLabel(name: $label1, value: $value1) { built: sync rootfs { id } } } } } } } } } }\n"},
		{"q/p1.graphql", "query P1($ctr: ContainerID!, $address0: String!, $username0: String!, $password0: SecretID!, $ref: String!) { r: loadContainerFromID(id: $ctr) { c: withRegistryAuth(address: $address0, username: $username0, secret: $password0) { ref: publish(address: $ref) } } }\n"},
		{"q/p1.jq", `{query: $doc, variables: {"ctr": $b1[0].data.r.c.c.c.c.c.c.c.built, "address0": "reg.test", "username0": "ci", "password0": $secrets[0].data.r0.id, "ref": "reg.test/app:1-arm64"}}` + "\n"},
	} {
		if diff := cmp.Diff(tc.want, d.Files[tc.file]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.file, diff)
		}
	}
	// the dependency's root filesystem and the repository's directory come from earlier answers
	for _, want := range []string{`"dir0": $upload[0].data.host.directory.d0.id`, `"dir1": $b0[0].data.r.c.c.rootfs.id`,
		`"secrets": [$secrets[0].data.s0.id]`, `"buildArgs": [{"name":"A","value":"1"},{"name":"B","value":"2"}]`} {
		if !strings.Contains(d.Files["q/b1.jq"], want) {
			t.Errorf("q/b1.jq lacks %s:\n%s", want, d.Files["q/b1.jq"])
		}
	}
	// base runs in the first wave, app after it (it takes base's root filesystem), tool with base;
	// base is not pushed; each publish follows its build
	script := d.Files[Script]
	for _, want := range []string{
		"q upload || exit 1\nq secrets || exit 1\n",
		"# wave 0\npids=\n(q b0 --slurpfile upload out/upload.json || failed b0) & pids=\"$pids $!\"\n(q b2 --slurpfile upload out/upload.json || failed b2) & pids=\"$pids $!\"\nwait $pids\n" +
			"[ -e out/failed.b2 ] || (q p2 --slurpfile b2 out/b2.json --slurpfile secrets out/secrets.json || failed p2) &\n",
		"# wave 1\npids=\n(q b1 --slurpfile upload out/upload.json --slurpfile b0 out/b0.json --slurpfile secrets out/secrets.json || failed b1) & pids=\"$pids $!\"\nwait $pids\n",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("the script lacks\n%s\nin\n%s", want, script)
		}
	}
	if strings.Contains(script, "q p0") {
		t.Errorf("the script publishes base, which is only a context:\n%s", script)
	}
}

// TestRenderAnnotations: a step's manifest annotations are set on the built image, values passed
// as variables.
func TestRenderAnnotations(t *testing.T) {
	steps, err := Steps(targets(), []Build{{Target: "inline", Platform: "linux/arm64", Push: "reg.test/inline:1-arm64"}}, nil, readDockerfile)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Plan{Source: "/src", Steps: steps}.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"withAnnotation(name: $annotation0, value: $annotationValue0) { c: withAnnotation(name: $annotation1, value: $annotationValue1)"} {
		if !strings.Contains(d.Files["q/b0.graphql"], want) {
			t.Errorf("q/b0.graphql lacks %s:\n%s", want, d.Files["q/b0.graphql"])
		}
	}
	for _, want := range []string{`"annotation1": "org.example.arm"`, `"annotationValue1": "yes"`} {
		if !strings.Contains(d.Files["q/b0.jq"], want) {
			t.Errorf("q/b0.jq lacks %s:\n%s", want, d.Files["q/b0.jq"])
		}
	}
	bad := targets()
	bad[0].Annotations = []string{"layer:x=1"}
	if _, err := Steps(bad, []Build{{Target: "base", Platform: "linux/arm64"}}, nil, readDockerfile); err == nil || !strings.Contains(err.Error(), "target base: ") {
		t.Errorf("a bad annotation: %v", err)
	}
}

// TestRenderAuthByPrefix: two repositories of one host keep their own credentials; each publish
// gets only those of the longest address that covers its image, named by the image's host.
func TestRenderAuthByPrefix(t *testing.T) {
	p := testPlan(t)
	p.Auth = []Auth{
		{Address: "reg.test", Username: "host", Env: "SHIPYARD_REGISTRY_PASSWORD_0"},
		{Address: "reg.test/tool", Username: "tool", Env: "SHIPYARD_REGISTRY_PASSWORD_1"},
		{Address: "reg.test/app", Username: "app", Env: "SHIPYARD_REGISTRY_PASSWORD_2"},
	}
	d, err := p.Render()
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"q/p1.jq": `"address2": "reg.test", "username2": "app", "password2": $secrets[0].data.r2.id, "ref": "reg.test/app:1-arm64"`,
		"q/p2.jq": `"address1": "reg.test", "username1": "tool", "password1": $secrets[0].data.r1.id, "ref": "reg.test/tool:1-arm64"`,
	} {
		if !strings.Contains(d.Files[file], want) || strings.Count(d.Files[file], "username") != 1 {
			t.Errorf("%s = %s\nwant only %s", file, d.Files[file], want)
		}
	}
	p.Auth = []Auth{{Address: "other/app", Username: "x", Env: "SHIPYARD_REGISTRY_PASSWORD_0"}}
	if d, err = p.Render(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.Files["q/p1.graphql"], "withRegistryAuth") {
		t.Errorf("a publish no address covers got credentials: %s", d.Files["q/p1.graphql"])
	}
}

// TestRenderKeepsValuesOutOfDocuments: a value from the bake file is a variable, never text of
// a document, whatever characters it holds; the documents are the same with other values.
func TestRenderKeepsValuesOutOfDocuments(t *testing.T) {
	odd := `x") { id } evil: host { directory(path: "/") { id } } #` + "\n\"\\$`'"
	p := Plan{Source: "/src", Steps: []Step{{Target: "t", Platform: "linux/arm64", Context: odd, Dockerfile: odd,
		Args: []KV{{odd, odd}}, Labels: []KV{{odd, odd}}, Stage: odd, Push: odd}}}
	d, err := p.Render()
	if err != nil {
		t.Fatal(err)
	}
	plain := Plan{Source: "/src", Steps: []Step{{Target: "t", Platform: "linux/arm64", Context: "a", Dockerfile: "b",
		Args: []KV{{"c", "d"}}, Labels: []KV{{"e", "f"}}, Stage: "g", Push: "h"}}}
	d2, err := plain.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"q/b0.graphql", "q/p0.graphql", Script} {
		if d.Files[f] != d2.Files[f] {
			t.Errorf("%s depends on the values:\n%s\n%s", f, d.Files[f], d2.Files[f])
		}
	}
	// the jq program holds the values as JSON strings that decode to them
	prog := d.Files["q/b0.jq"]
	m := regexp.MustCompile(`"context": ("(?:[^"\\]|\\.)*")`).FindStringSubmatch(prog)
	var got string
	if m == nil || json.Unmarshal([]byte(m[1]), &got) != nil || got != odd {
		t.Errorf("the context does not round-trip through the jq program:\n%s", prog)
	}
}

func TestRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan Plan
		want string
	}{
		{"empty", Plan{Source: "/src"}, "remote build: nothing to build"},
		{"dependency after", Plan{Source: "/src", Steps: []Step{{Target: "app", Platform: "p", Dirs: []Dir{{Path: "x", Target: "base"}}}, {Target: "base", Platform: "p"}}},
			"remote build app [p]: context x needs base [p], which is not built before it"},
		{"secret not given", Plan{Source: "/src", Steps: []Step{{Target: "app", Platform: "p", Secrets: []int{1}}}}, "remote build app [p]: secret 1 is not given"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.plan.Render(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPushes(t *testing.T) {
	p := testPlan(t) // base (context only), app, tool
	for _, tt := range []struct {
		what      string
		got, want any
	}{
		{"Pushes", p.Pushes(), 2},
		{"Pushes of what remains after app", p.Remaining(map[string]bool{"reg.test/app:1-arm64": true}).Pushes(), 1},
		{"PushOf app", p.PushOf("app", "linux/arm64"), "reg.test/app:1-arm64"},
		{"PushOf a context", p.PushOf("base", "linux/arm64"), ""},
		{"PushOf another platform", p.PushOf("app", "linux/amd64"), ""},
	} {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.what, diff)
		}
	}
}

func TestRemaining(t *testing.T) {
	p := testPlan(t) // base (context only), app, tool
	names := func(p Plan) []string {
		var out []string
		for _, s := range p.Steps {
			out = append(out, s.Target+"="+s.Push)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		done []string
		want []string
	}{
		{"nothing pushed", nil, []string{"base=", "app=reg.test/app:1-arm64", "tool=reg.test/tool:1-arm64"}},
		{"app pushed: tool alone", []string{"reg.test/app:1-arm64"}, []string{"tool=reg.test/tool:1-arm64"}},
		{"tool pushed: app and what it takes", []string{"reg.test/tool:1-arm64"}, []string{"base=", "app=reg.test/app:1-arm64"}},
		{"all pushed", []string{"reg.test/app:1-arm64", "reg.test/tool:1-arm64"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := map[string]bool{}
			for _, d := range tc.done {
				done[d] = true
			}
			if diff := cmp.Diff(tc.want, names(p.Remaining(done))); diff != "" {
				t.Errorf("Remaining (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	p := testPlan(t) // b0 base, b1 app (p1), b2 tool (p2)
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	at := func(s string) time.Time { return unixTime(s) }
	files := map[string]string{
		"upload.start": "100.5\n", "upload.end": "101.25\n", "upload.json": `{"data":{"host":{"directory":{"id":"X"}}}}`,
		"secrets.start": "101\n", "secrets.end": "101\n", "secrets.json": `{"data":{"r0":{"id":"R"},"s0":{"id":"S"}}}`,
		"b0.start": "102\n", "b0.end": "110\n", "b0.json": `{"data":{"r":{"c":{"c":{"built":"C","rootfs":{"id":"F"}}}}}}`,
		"b2.start": "102\n", "b2.end": "111\n", "b2.json": `{"data":{"r":{"c":{"c":{"built":"C2","rootfs":{"id":"F2"}}}}}}`,
		"p2.start": "111\n", "p2.end": "112\n", "p2.json": `{"data":{"r":{"c":{"ref":"reg.test/tool:1-arm64@` + digest + `"}}}}`,
		"b1.start": "110\n", "b1.end": "120\n",
		"b1.json": `{"errors":[{"message":"process \"go build\" did not complete successfully: exit code: 1 [traceparent:0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331]","path":["r","c"],` +
			`"extensions":{"_type":"EXEC_ERROR","exitCode":1,"stdout":"","stderr":"main.go:3: undefined: x"}}],"data":null}`,
	}
	got := p.Parse(files)
	want := []Result{
		{Phase: PhaseUpload, Ran: true, Start: at("100.5"), End: at("101.25")},
		{Phase: PhaseSecrets, Ran: true, Start: at("101"), End: at("101")},
		{Phase: PhaseBuild, Target: "base", Platform: "linux/arm64", Ran: true, Start: at("102"), End: at("110")},
		{Phase: PhaseBuild, Target: "app", Platform: "linux/arm64", Ran: true, Start: at("110"), End: at("120"),
			Err: "process \"go build\" did not complete successfully: exit code: 1\nStderr:\nmain.go:3: undefined: x"},
		{Phase: PhasePublish, Target: "app", Platform: "linux/arm64"},
		{Phase: PhaseBuild, Target: "tool", Platform: "linux/arm64", Ran: true, Start: at("102"), End: at("111")},
		{Phase: PhasePublish, Target: "tool", Platform: "linux/arm64", Ran: true, Start: at("111"), End: at("112"), Ref: "reg.test/tool:1-arm64", Digest: digest},
	}
	if diff := cmp.Diff(want, got.Results); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	if pub := got.Published(); len(pub) != 1 || pub[0].Target != "tool" {
		t.Errorf("Published = %+v, want tool's", pub)
	}
	if f := got.Failures(); len(f) != 1 || f[0].What() != "build app [linux/arm64]" {
		t.Errorf("Failures = %+v, want app's build", f)
	}
	if unixTime("1700000000.123").Nanosecond() != 123000000 || !unixTime("junk").IsZero() {
		t.Errorf("unixTime misreads date +%%s.%%N")
	}
}

func TestParseNoAnswer(t *testing.T) {
	p := Plan{Source: "/src", Steps: []Step{{Target: "t", Platform: "p", Push: "reg.test/t:1"}}}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"curl failed", map[string]string{"upload.start": "1", "upload.err": "curl: (7) Failed to connect to 127.0.0.1 port 1\n"},
			"no answer from the session: curl: (7) Failed to connect to 127.0.0.1 port 1"},
		{"not JSON", map[string]string{"upload.start": "1", "upload.json": "<html>"}, "unreadable answer from the session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := p.Parse(tc.files)
			f := o.Failures()
			if len(f) != 1 || f[0].Phase != PhaseUpload || !strings.HasPrefix(f[0].Err, tc.want) {
				t.Errorf("Failures = %+v, want the upload's %q", f, tc.want)
			}
		})
	}
	o := p.Parse(map[string]string{"upload.start": "1", "upload.json": `{"data":{"host":{"directory":{"id":"X"}}}}`,
		"b0.start": "1", "b0.json": `{"data":{"r":{"c":{"c":{"built":"C"}}}}}`, "p0.start": "2", "p0.json": `{"data":{"r":{"ref":"reg.test/t:1"}}}`})
	if f := o.Failures(); len(f) != 1 || f[0].Err != `the publish answered "reg.test/t:1", without a digest` {
		t.Errorf("Failures = %+v, want the publish without a digest", f)
	}
}

// TestPure: the package decides and renders; it links neither a process nor a network client.
func TestPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "os/exec" || pkg == "net/http" {
			t.Errorf("internal/remotebuild links %s", pkg)
		}
	}
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
