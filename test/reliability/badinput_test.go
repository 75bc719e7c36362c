package reliability

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// badEnv is what the bad-input cases share: one registry and a loopback port nothing listens on.
type badEnv struct {
	host   string // 127.0.0.1:port of the test registry
	port   int
	auth   int // port of a registry that requires user u with password "right"
	closed int // a port nothing listens on
	slug   string
}

// prefix is the case's own part of the test registry.
func (e *badEnv) prefix() string { return e.host + "/" + e.slug }

// releaseArgs point a release at the case's build and release repositories.
func (e *badEnv) releaseArgs() []string {
	return []string{"--build-registry", e.prefix() + "/build", "--release-registry", e.prefix() + "/rel",
		"--registry-tunnel", fmt.Sprintf("tcp://localhost:%d", e.port)}
}

// badCase is one bad input given to the real CLI.
type badCase struct {
	name string
	// edit, if set, changes the bake file of a copy of the repository passed as --source, and
	// returns the new text and a regular expression the error message must match
	edit func(src string) (edited, want string)
	args func(e *badEnv) []string
	// env are NAME=VALUE variables for env: secrets
	env []string
	// ok: the input is survivable; the call must succeed and its log must contain want
	ok bool
	// want are regular expressions the error message (or, when ok, the output) must match
	want func(e *badEnv) []string
	// wantNot are regular expressions the error message must not match (a misleading diagnosis)
	wantNot []string
	// registry: the case targets the test registry; it is seeded with merged images of 1.2.3 and
	// must hold exactly the same tags afterwards
	registry bool
}

// fakeHostKey is a well-formed SSH host key line nobody serves.
const fakeHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDbGNEfbXJg0MeIc9huEIKtwO1y8oDDTtgQnyra3R/px"

// stateDir writes the state file of a job whose instance exists on paper only.
func stateDir(job int) string {
	dir, err := os.MkdirTemp("", "shipyard-state-")
	if err != nil {
		panic(err)
	}
	st := fmt.Sprintf(`{"instance_id":"i-0123456789abcdef0","public_ip":"203.0.113.7","strategy":"template","region":"eu-north-1","job_id":"%d"}`, job)
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf(".e2c_instance_state_%d", job)), []byte(st), 0o644); err != nil {
		panic(err)
	}
	return dir
}

// daggerPath is the dagger CLI on PATH, handed to the builder container.
func daggerPath() string {
	p, _ := exec.LookPath("dagger")
	return p
}

func static2(args ...string) func(*badEnv) []string { return func(*badEnv) []string { return args } }

func static(res ...string) func(*badEnv) []string { return func(*badEnv) []string { return res } }

func release(extra ...string) func(e *badEnv) []string {
	return func(e *badEnv) []string { return append(append([]string{"release"}, e.releaseArgs()...), extra...) }
}

// unreachable is how a message should say a registry cannot be reached.
const unreachable = `(?i)(unreachable|cannot reach|can't reach|could not reach|not reachable|cannot connect|connection refused)`

var badCases = []badCase{
	{
		// every missing ARM-builder setting is reported at once, before anything is launched
		name: "missing AWS settings",
		args: static2("arm-builder", "--job-id=42", "--strategy=existing", "setup"),
		want: static(`E2C_INSTANCE_ID`, `AWS credentials missing`),
	},
	{
		// the builder's engine does not answer: a clear error within 30 s, not minutes of retries
		name: "unreachable remote engine",
		args: func(e *badEnv) []string {
			return []string{"arm-builder", "--job-id=43", "--launch-template-id=lt-0123456789abcdef0",
				"--ssh-key=env:SHIPYARD_RELIABILITY_SSH_KEY", "--ssh-host-key=" + fakeHostKey,
				fmt.Sprintf("--ssh-addr-override=127.0.0.1:%d", e.closed), "--state-dir=" + stateDir(43),
				"build", "--target=traefik", "--platform=linux/arm64", "--dagger-cli=" + daggerPath()}
		},
		env:     []string{"SHIPYARD_RELIABILITY_SSH_KEY=not-a-real-key"},
		want:    static(`builder's engine at 127\.0\.0\.1:[0-9]+ is unreachable within 30s`, `(?i)connection refused`),
		wantNot: []string{`failed to resolve image`},
	},
	{
		name: "malformed bake HCL",
		edit: func(src string) (string, string) {
			// a broken variable appended at the end: the error must point at its line
			line := strings.Count(src, "\n") + 2
			return src + "variable \"BROKEN\" {\n  default = = \"x\"\n}\n",
				fmt.Sprintf(`docker-bake-production\.hcl:%d:\d+: HCL syntax error`, line)
		},
		args: static("build", "--target", "traefik"),
		want: static(`fix the HCL syntax`),
	},
	{
		name: "unknown target",
		args: static("build", "--target", "nope"),
		want: static(`unknown target or group "nope"`, `use one of the available names: targets: .*traefik`),
	},
	{
		name: "inherits cycle",
		edit: func(src string) (string, string) {
			return strings.Replace(src, "target \"_common\" {\n", "target \"_common\" {\n  inherits = [\"traefik\"]\n", 1),
				`docker-bake-production\.hcl:\d+:\d+: cycle in inherits`
		},
		args: static("build", "--target", "traefik"),
		want: static(`_common -> traefik -> _common|traefik -> _common -> traefik`, `remove one of these inherits entries`),
	},
	{
		name: "platform with too many parts",
		args: static("build", "--target", "traefik", "--platform", "linux/amd64/x/y"),
		want: static(`--platform: bad platform "linux/amd64/x/y"`),
	},
	{
		name: "platform without architecture",
		args: static("build", "--target", "traefik", "--platform", "windows"),
		want: static(`--platform: bad platform "windows"`),
	},
	{
		name:     "release of a tag that is not a version",
		args:     release("--ref=x", "--tag=nope", "--only=release"),
		want:     static(`stage not allowed for this ref`, `tag nope is not a version`),
		registry: true,
	},
	{
		name:     "release without a tag",
		args:     release("--ref=x", "--tag=", "--only=release"),
		want:     static(`running stage release: stage not allowed for this ref \(branch x matches no build rule`),
		registry: true,
	},
	{
		// the message names the setting: in a CI job the value comes from UPDATE_LATEST_STRATEGY
		name:     "unknown latest strategy",
		args:     release("--ref=1.2.3", "--tag=1.2.3", "--only=release", "--latest-strategy=sometimes"),
		want:     static(`unknown latest strategy "sometimes": use one of auto, force, skip`, `--latest-strategy|UPDATE_LATEST_STRATEGY`),
		registry: true,
	},
	{
		// as above, the setting (TAG_TYPE_OVERRIDE) is named
		name:     "bad TAG_TYPE_OVERRIDE",
		args:     release("--ref=1.2.3", "--tag=1.2.3", "--only=release", "--tag-type-override=heavy"),
		want:     static(`unknown tag type "heavy": use "annotated" or "lightweight"`, `--tag-type-override|TAG_TYPE_OVERRIDE`),
		registry: true,
	},
	{
		name: "missing release registry",
		args: func(e *badEnv) []string {
			return []string{"release", "--ref=1.2.3", "--tag=1.2.3", "--only=release", "--build-registry", e.prefix() + "/build",
				"--registry-tunnel", fmt.Sprintf("tcp://localhost:%d", e.port)}
		},
		want:     static(`the release stage needs --release-registry`),
		registry: true,
	},
	{
		name:     "unknown --only stage",
		args:     release("--ref=1.2.3", "--tag=1.2.3", "--only=deploy"),
		want:     static(`stage "deploy": unknown stage: pass one of lint, test, build, manifests, release`),
		registry: true,
	},
	{
		name:     "--only a stage the rules refuse for the ref",
		args:     release("--ref=feat/x", "--only=release"),
		want:     static(`running stage release: stage not allowed for this ref \(branch feat/x matches feat/\*`),
		registry: true,
	},
	{
		// a registry that cannot be reached is not "missing, run the build stage first" (a rebuild
		// would not help)
		name: "unreachable build registry (manifests)",
		args: func(e *badEnv) []string {
			return []string{"manifests", "--target", "traefik", "--set", fmt.Sprintf("REGISTRY=127.0.0.1:%d/x", e.closed), "--set", "TAG=t",
				"--registry-tunnel", fmt.Sprintf("tcp://localhost:%d", e.closed)}
		},
		want:    func(e *badEnv) []string { return []string{fmt.Sprintf(`127\.0\.0\.1:%d`, e.closed), unreachable} },
		wantNot: []string{`run the build stage first`},
	},
	{
		// as above: a refused password is not a missing image
		name: "wrong registry password (manifests)",
		args: func(e *badEnv) []string {
			return []string{"manifests", "--target", "traefik", "--set", fmt.Sprintf("REGISTRY=127.0.0.1:%d/x", e.auth), "--set", "TAG=t",
				"--username", "u", "--password", "env:SHIPYARD_RELIABILITY_PASSWORD", "--registry-tunnel", fmt.Sprintf("tcp://localhost:%d", e.auth)}
		},
		env:     []string{"SHIPYARD_RELIABILITY_PASSWORD=wrong"},
		want:    static(`registry rejected the credentials \(check the registry user/password secret\)`),
		wantNot: []string{`run the build stage first`},
	},
	{
		// the same for release: an unreachable build registry is not "missing, run the manifests stage first"
		name: "unreachable build registry (release)",
		args: func(e *badEnv) []string {
			return []string{"release", "--ref=1.2.3", "--tag=1.2.3", "--only=release",
				"--build-registry", fmt.Sprintf("127.0.0.1:%d/b", e.closed), "--release-registry", e.prefix() + "/rel",
				"--registry-tunnel", fmt.Sprintf("tcp://localhost:%d", e.port), "--registry-tunnel", fmt.Sprintf("tcp://localhost:%d", e.closed)}
		},
		want:     func(e *badEnv) []string { return []string{fmt.Sprintf(`127\.0\.0\.1:%d`, e.closed), unreachable} },
		wantNot:  []string{`run the manifests stage first`},
		registry: true,
	},
	{
		// the message says the registry cannot be reached, not only "Get …/v2/: EOF"
		name: "unreachable release registry",
		args: func(e *badEnv) []string {
			return []string{"release", "--ref=1.2.3", "--tag=1.2.3", "--only=release", "--tag-type-override=annotated",
				"--build-registry", e.prefix() + "/build", "--release-registry", fmt.Sprintf("127.0.0.1:%d/rel", e.closed),
				"--registry-tunnel", fmt.Sprintf("tcp://localhost:%d", e.port), "--registry-tunnel", fmt.Sprintf("tcp://localhost:%d", e.closed)}
		},
		want:     func(e *badEnv) []string { return []string{fmt.Sprintf(`127\.0\.0\.1:%d/rel`, e.closed), unreachable} },
		registry: true,
	},
	{
		// plan takes the GitLab flags like release, so it shows the decision release would take
		name: "unreachable GitLab API falls through (plan)",
		args: func(e *badEnv) []string {
			return []string{"plan", "--ref=1.2.3", "--tag=1.2.3", fmt.Sprintf("--gitlab-url=http://127.0.0.1:%d", e.closed),
				"--project-id=1", "--gitlab-token=env:SHIPYARD_RELIABILITY_TOKEN"}
		},
		env:  []string{"SHIPYARD_RELIABILITY_TOKEN=glcbt-reliability"},
		ok:   true,
		want: static(`tag type \[gitlab\]: unreachable .*: no answer`, `tag type \[heuristic\]: guessed from the name`, `decided by heuristic`),
	},
	{
		name: "unreachable GitLab API falls through (release dry run)",
		args: func(e *badEnv) []string {
			return release("--ref=1.2.3", "--tag=1.2.3", "--only=release", "--dry-run",
				fmt.Sprintf("--gitlab-url=http://127.0.0.1:%d", e.closed), "--project-id=1",
				"--gitlab-token=env:SHIPYARD_RELIABILITY_TOKEN")(e)
		},
		env:      []string{"SHIPYARD_RELIABILITY_TOKEN=glcbt-reliability"},
		ok:       true,
		want:     static(`tag type \[gitlab\]: unreachable .*: no answer`, `tag type \[heuristic\]: guessed from the name`, `decided by heuristic`),
		registry: true,
	},
}

// editBake applies edit to the bake file in dir and returns the message the edit must cause.
func editBake(t *testing.T, dir string, edit func(string) (string, string)) string {
	t.Helper()
	path := filepath.Join(dir, "docker-bake-production.hcl")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited, want := edit(string(src))
	if edited == string(src) {
		t.Fatalf("the edit left %s unchanged: update the case to the current bake file", path)
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	return want
}

// errorMessage is the error the CLI printed last (from its final "Error:" line to the end).
func errorMessage(stderr string) string {
	i := strings.LastIndex(stderr, "Error: ")
	if i < 0 {
		return ""
	}
	return stderr[i:]
}

// Every bad input fails (or, for a survivable one, falls through) with a message naming the
// problem, and publishes nothing.
func TestBadInput(t *testing.T) {
	needEngine(t)
	port := closedPort(t)
	host := startRegistry(t, port, "")
	auth := closedPort(t)
	startRegistry(t, auth, htpasswd(t, "u", "right"))
	for i, c := range badCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := &badEnv{host: host, port: port, auth: auth, closed: closedPort(t), slug: fmt.Sprintf("case%02d", i)}
			var want []string
			if c.want != nil {
				want = c.want(e)
			}
			args := c.args(e)
			if c.edit != nil {
				dir := copyRepo(t)
				want = append(want, editBake(t, dir, c.edit))
				args = append([]string{"--source", dir}, args...)
			}
			var before []string
			if c.registry {
				seedMerged(t, e.prefix()+"/build", "1.2.3")
				before = snapshot(t, host, e.slug+"/")
			}

			r := daggerCall(t, 15*time.Minute, c.env, args...)

			text := errorMessage(r.Stderr)
			switch {
			case c.ok && r.Err != nil:
				t.Errorf("the call failed; this input must fall through, not fail: %v\n%s", r.Err, tail(r.Stderr, 40))
			case c.ok:
				text = r.All()
			case r.Err == nil:
				t.Errorf("the call succeeded on bad input; it must fail\nstdout:\n%s", r.Stdout)
			case text == "":
				t.Errorf("no Error: line in the output:\n%s", tail(r.Stderr, 40))
			}
			if !c.ok {
				t.Logf("message: %s", strings.TrimSpace(text))
			}
			for _, re := range want {
				if !regexp.MustCompile(re).MatchString(text) {
					t.Errorf("the message does not match %q:\n%s", re, text)
				}
			}
			for _, re := range c.wantNot {
				if m := regexp.MustCompile(re).FindString(text); m != "" {
					t.Errorf("the message says %q, which misleads about this input:\n%s", m, text)
				}
			}
			if c.registry {
				if diff := cmp.Diff(before, snapshot(t, host, e.slug+"/")); diff != "" {
					t.Errorf("tags in the test registry changed (-before +after):\n%s", diff)
				}
			}
		})
	}
}
