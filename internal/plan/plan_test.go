package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/bake"
	"shipyard/internal/rules"
)

// targets is a small bake file's worth of targets: app (every platform), db (amd64 + arm64 only).
func targets(tag string) []*bake.Target {
	arm := []bake.Platform{{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"}}
	return []*bake.Target{
		{Name: "app", Tags: []string{"reg.test/p/app:" + tag, "reg.test/p/app:extra"}},
		{Name: "db", Tags: []string{"reg.test/p/db:" + tag}, Platforms: arm},
	}
}

func tru() *bool  { b := true; return &b }
func fals() *bool { b := false; return &b }

type routed struct {
	builds map[string]Builder // "target platform" -> builder
	merged map[string]string  // target -> platforms
}

func summary(p *Plan) routed {
	r := routed{builds: map[string]Builder{}, merged: map[string]string{}}
	for _, b := range p.Builds {
		r.builds[b.Target+" "+b.Platform] = b.Builder
	}
	for _, m := range p.Merges {
		r.merged[m.Target] = strings.Join(m.Platforms, ",")
	}
	return r
}

func TestRouting(t *testing.T) {
	version := rules.Ref{Tag: "1.2.3"}
	staging := rules.Ref{Branch: "staging", DefaultBranch: "main"}
	main := rules.Ref{Branch: "main", DefaultBranch: "main"}
	feat := rules.Ref{Branch: "feat/x", DefaultBranch: "main"}
	type tc struct {
		name  string
		in    Input
		want  routed
		notes int
	}
	base := func(ref rules.Ref) Input {
		return Input{Ref: ref, Project: "shop", ReleaseRegistry: "rel.test/r", Targets: targets(ImageTag(ref))}
	}
	with := func(in Input, f func(*Input)) Input { f(&in); return in }
	amd := routed{builds: map[string]Builder{"app linux/amd64": Local, "db linux/amd64": Local},
		merged: map[string]string{"app": "linux/amd64", "db": "linux/amd64"}}
	var cases []tc
	for _, ref := range []rules.Ref{version, staging, main} {
		name := ImageTag(ref)
		cases = append(cases,
			tc{name: name + " amd64 only", in: base(ref), want: amd},
			tc{name: name + " arm64 qemu", in: with(base(ref), func(i *Input) { i.Arm64 = true }),
				want: routed{builds: map[string]Builder{"app linux/amd64": Local, "app linux/arm64": QEMU, "db linux/amd64": Local, "db linux/arm64": QEMU},
					merged: map[string]string{"app": "linux/amd64,linux/arm64", "db": "linux/amd64,linux/arm64"}}},
			tc{name: name + " arm64 ec2", in: with(base(ref), func(i *Input) { i.Arm64 = true; i.ARMBuilder = ARMEC2 }),
				want: routed{builds: map[string]Builder{"app linux/amd64": Local, "app linux/arm64": Remote, "db linux/amd64": Local, "db linux/arm64": Remote},
					merged: map[string]string{"app": "linux/amd64,linux/arm64", "db": "linux/amd64,linux/arm64"}}},
			tc{name: name + " arm64 ec2 no capacity", in: with(base(ref), func(i *Input) { i.Arm64 = true; i.ARMBuilder = ARMEC2; i.Builder = BuilderNoCapacity }),
				want: routed{builds: map[string]Builder{"app linux/amd64": Local, "app linux/arm64": QEMU, "db linux/amd64": Local, "db linux/arm64": QEMU},
					merged: map[string]string{"app": "linux/amd64,linux/arm64", "db": "linux/amd64,linux/arm64"}}, notes: 1},
			tc{name: name + " arm64+armv7 ec2", in: with(base(ref), func(i *Input) { i.Arm64, i.Armv7 = true, true; i.ARMBuilder = ARMEC2 }),
				want: routed{builds: map[string]Builder{"app linux/amd64": Local, "app linux/arm64": Remote, "app linux/arm/v7": Remote, "db linux/amd64": Local, "db linux/arm64": Remote},
					merged: map[string]string{"app": "linux/amd64,linux/arm64,linux/arm/v7", "db": "linux/amd64,linux/arm64"}}},
			tc{name: name + " armv7 ec2 without 32-bit", in: with(base(ref), func(i *Input) {
				i.Armv7 = true
				i.ARMBuilder = ARMEC2
				i.Builder = BuilderReady
				i.BuilderRuns32Bit = fals()
			}),
				want: routed{builds: map[string]Builder{"app linux/amd64": Local, "app linux/arm/v7": QEMU, "db linux/amd64": Local},
					merged: map[string]string{"app": "linux/amd64,linux/arm/v7", "db": "linux/amd64"}}},
			tc{name: name + " armv7 ec2 with 32-bit", in: with(base(ref), func(i *Input) {
				i.Armv7 = true
				i.ARMBuilder = ARMEC2
				i.Builder = BuilderReady
				i.BuilderRuns32Bit = tru()
			}),
				want: routed{builds: map[string]Builder{"app linux/amd64": Local, "app linux/arm/v7": Remote, "db linux/amd64": Local},
					merged: map[string]string{"app": "linux/amd64,linux/arm/v7", "db": "linux/amd64"}}},
			tc{name: name + " arm64 ec2 builder failed", in: with(base(ref), func(i *Input) {
				i.Arm64 = true
				i.ARMBuilder = ARMEC2
				i.Builder = BuilderFailed
				i.BuilderWhy = "instance terminated"
			}),
				want: routed{builds: map[string]Builder{"app linux/amd64": Local, "app linux/arm64": QEMU, "db linux/amd64": Local, "db linux/arm64": QEMU},
					merged: map[string]string{"app": "linux/amd64,linux/arm64", "db": "linux/amd64,linux/arm64"}}},
			tc{name: name + " ec2 without ARM", in: with(base(ref), func(i *Input) { i.ARMBuilder = ARMEC2 }), want: amd, notes: 1},
		)
	}
	// work branches build nothing, whatever the ARM settings
	for _, in := range []Input{base(feat), with(base(feat), func(i *Input) { i.Arm64, i.Armv7 = true, true; i.ARMBuilder = ARMEC2 })} {
		cases = append(cases, tc{name: "feat/x " + in.ARMBuilder, in: in, want: routed{builds: map[string]Builder{}, merged: map[string]string{}}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Make(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, summary(p), cmp.AllowUnexported(routed{})); diff != "" {
				t.Errorf("routing (-want +got):\n%s", diff)
			}
			if len(p.Notes) != c.notes {
				t.Errorf("notes: %q, want %d", p.Notes, c.notes)
			}
			remote := len(p.BuildsOn(Remote)) > 0
			if p.RemoteBuilder != remote {
				t.Errorf("RemoteBuilder = %v with %d remote builds", p.RemoteBuilder, len(p.BuildsOn(Remote)))
			}
			for _, b := range p.Builds {
				if b.Why == "" {
					t.Errorf("%s [%s]: no reason", b.Target, b.Platform)
				}
			}
		})
	}
}

func TestMergesAndCopies(t *testing.T) {
	p, err := Make(Input{Ref: rules.Ref{Tag: "1.2.3"}, Arm64: true, ARMBuilder: ARMEC2, Project: "shop",
		ReleaseRegistry: "rel.test/r/", Targets: targets("1.2.3"), LatestStrategy: "force", TagTypeOverride: "annotated"})
	if err != nil {
		t.Fatal(err)
	}
	wantMerges := []Merge{
		{Target: "app", Tags: []string{"reg.test/p/app:1.2.3", "reg.test/p/app:extra"}, Platforms: []string{"linux/amd64", "linux/arm64"},
			Sources: []string{"reg.test/p/app:1.2.3-amd64", "reg.test/p/app:1.2.3-arm64"}},
		{Target: "db", Tags: []string{"reg.test/p/db:1.2.3"}, Platforms: []string{"linux/amd64", "linux/arm64"},
			Sources: []string{"reg.test/p/db:1.2.3-amd64", "reg.test/p/db:1.2.3-arm64"}},
	}
	if diff := cmp.Diff(wantMerges, p.Merges); diff != "" {
		t.Errorf("merges (-want +got):\n%s", diff)
	}
	wantCopies := []Copy{
		{Target: "app", From: "reg.test/p/app:1.2.3", To: "rel.test/r/shop-app", Tag: "1.2.3"},
		{Target: "db", From: "reg.test/p/db:1.2.3", To: "rel.test/r/shop-db", Tag: "1.2.3"},
	}
	if diff := cmp.Diff(wantCopies, p.Copies); diff != "" {
		t.Errorf("copies (-want +got):\n%s", diff)
	}
	want := &Latest{Tag: "1.2.3", Strategy: "force", TagTypeOverride: "annotated", Repos: []string{"rel.test/r/shop-app", "rel.test/r/shop-db"}}
	if diff := cmp.Diff(want, p.Latest); diff != "" {
		t.Errorf("latest (-want +got):\n%s", diff)
	}
	if !p.RemoteBuilder {
		t.Error("an ec2 arm64 release needs the remote builder")
	}
}

func TestStagesAndOnly(t *testing.T) {
	cases := []struct {
		ref     rules.Ref
		only    string
		want    string
		wantErr string
	}{
		{ref: rules.Ref{Branch: "feat/x"}, want: "lint, test"},
		{ref: rules.Ref{Branch: "staging"}, want: "lint, test, build, manifests"},
		{ref: rules.Ref{Tag: "1.2.3"}, want: "lint, test, build, manifests, release"},
		{ref: rules.Ref{Tag: "1.2.3"}, only: "manifests", want: "manifests"},
		{ref: rules.Ref{Branch: "feat/x"}, only: "release", wantErr: "stage not allowed"},
		{ref: rules.Ref{Branch: "feat/x"}, only: "deploy", wantErr: "unknown stage"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %s", refName(c.ref), c.only), func(t *testing.T) {
			p, err := Make(Input{Ref: c.ref, Only: c.only, Project: "p", ReleaseRegistry: "r.test/x", Targets: targets(ImageTag(c.ref))})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.StageNames(); got != c.want {
				t.Errorf("stages %q, want %q", got, c.want)
			}
		})
	}
}

func TestBadInputReportedTogether(t *testing.T) {
	_, err := Make(Input{Ref: rules.Ref{Tag: "1.2.3"}, LatestStrategy: "sometimes", TagTypeOverride: "heavy", ARMBuilder: "k8s", Targets: targets("1.2.3")})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"UPDATE_LATEST_STRATEGY", "TAG_TYPE_OVERRIDE", "ARM_BUILDER", "--project", "--release-registry"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	// the build and manifests jobs of a tag pipeline do not need the release registry
	if _, err := Make(Input{Ref: rules.Ref{Tag: "1.2.3"}, Only: "build", Project: "p", Targets: targets("1.2.3")}); err != nil {
		t.Errorf("build job of a tag pipeline without a release registry: %v", err)
	}
	_, err = Make(Input{Ref: rules.Ref{Branch: "staging"}, Targets: []*bake.Target{{Name: "x"}}})
	if err == nil || !strings.Contains(err.Error(), "target x has no tags") {
		t.Errorf("untagged target: %v", err)
	}
}

func TestPushRefs(t *testing.T) {
	const sha = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tt := range []struct {
		tag, want, bad string
	}{
		{tag: "localhost:5000/a/b:1.0", want: "localhost:5000/a/b:1.0-amd64"},
		{tag: "[::1]:5000/x:y", want: "[::1]:5000/x:y-amd64"},
		{tag: "localhost:5000/a/b", want: "localhost:5000/a/b:latest-amd64"},
		{tag: "docker.io/group/app:2", want: "docker.io/group/app:2-amd64"},
		{tag: "localhost:5000/a/b:1.0@" + sha, bad: "names a tag, not a digest"},
		{tag: "localhost:5000/A:1.0", bad: "repository can only contain"},
	} {
		p, err := Make(Input{Ref: rules.Ref{Branch: "staging", DefaultBranch: "main"}, Targets: []*bake.Target{{Name: "x", Tags: []string{tt.tag}}}})
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), "target x: the bake tag") || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("tag %q: err = %v, want it to name target x and %q", tt.tag, err, tt.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("tag %q: %v", tt.tag, err)
			continue
		}
		if diff := cmp.Diff([]string{tt.want}, p.Merges[0].Sources); diff != "" {
			t.Errorf("tag %q: pushed as (-want +got):\n%s", tt.tag, diff)
		}
	}
}

func TestVars(t *testing.T) {
	got := Vars(rules.Ref{Branch: "Feat/Big_Thing"}, "reg.test/p", "abc123", []string{"TAG=mine", "X=1"})
	want := []string{"TAG=feat-big-thing", "REGISTRY=reg.test/p", "GIT_COMMIT=abc123", "TAG=mine", "X=1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := Vars(rules.Ref{Tag: "1.0.0", Branch: "x"}, "", "", nil); !cmp.Equal(got, []string{"TAG=1.0.0"}) {
		t.Errorf("tag pipeline vars %q", got)
	}
}

func TestRenderTextAndJSON(t *testing.T) {
	p, err := Make(Input{Ref: rules.Ref{Tag: "1.2.3"}, Arm64: true, ARMBuilder: ARMEC2, Project: "shop", ReleaseRegistry: "rel.test/r",
		Targets: targets("1.2.3"), Attest: true})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := p.Render("text")
	for _, want := range []string{
		"build app [linux/arm64] on remote: native on the EC2 ARM builder's engine -> reg.test/p/app:1.2.3-arm64",
		"build db [linux/amd64] on local: native on the local engine",
		"merge app [linux/amd64, linux/arm64] -> reg.test/p/app:1.2.3, reg.test/p/app:extra",
		"release db: reg.test/p/db:1.2.3 -> rel.test/r/shop-db:1.2.3 (by digest)",
		"latest: strategy auto for 1.2.3",
		"attest app [linux/arm64] in build: sbom spdx-json, slsa provenance v1, sign -> reg.test/p/app:1.2.3-arm64",
		"attest app in manifests: sign the index -> reg.test/p/app:1.2.3",
		"attest db in release: copy signatures, attestations and referrers, verify signature, sbom and provenance of the revision -> rel.test/r/shop-db:1.2.3",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text plan lacks %q:\n%s", want, text)
		}
	}
	js, err := p.Render("json")
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal([]byte(js), &back); err != nil {
		t.Fatalf("json plan does not parse: %v\n%s", err, js)
	}
	if diff := cmp.Diff(p, &back); diff != "" {
		t.Errorf("json round trip (-want +got):\n%s", diff)
	}
	if _, err := p.Render("yaml"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestBakeAttributes(t *testing.T) {
	tg := targets("1.0.0")
	tg[0].Secrets = []bake.Secret{{ID: "npm", Env: "NPM_TOKEN"}}
	tg[0].CacheFrom = []bake.CacheEntry{{Type: "registry"}}
	tg[1].Outputs = []bake.Output{{Type: "registry"}}
	in := Input{Ref: rules.Ref{Branch: "staging"}, Targets: tg}
	_, err := Make(in)
	if err == nil || !strings.Contains(err.Error(), `target app needs the build secret "npm" (bake: env=NPM_TOKEN): pass with-build-secret --id=npm`) {
		t.Fatalf("missing build secret: %v", err)
	}
	in.BuildSecrets = []string{"npm"}
	p, err := Make(in)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(p.Notes, "\n")
	for _, want := range []string{"target app: cache-from/cache-to are replaced by the engine's own cache", "target db: output is replaced by the pipeline's push"} {
		if !strings.Contains(text, want) {
			t.Errorf("notes lack %q:\n%s", want, text)
		}
	}
	tg[1].SSH = []bake.SSH{{ID: "default"}}
	if _, err := Make(in); err == nil || !strings.Contains(err.Error(), "target db: ssh is not supported") {
		t.Errorf("ssh: %v", err)
	}
}

func TestBuiltinVar(t *testing.T) {
	for name, want := range map[string]bool{"TAG": true, "REGISTRY": true, "GIT_COMMIT": true, "tag": false, "VERSION": false, "": false} {
		if got := BuiltinVar(name); got != want {
			t.Errorf("BuiltinVar(%q) = %v, want %v", name, got, want)
		}
	}
	// every variable Vars sets is one a bake file may leave undeclared
	for _, kv := range Vars(rules.Ref{Tag: "1.2.3"}, "reg.example/x", "0123abc", nil) {
		if name, _, _ := strings.Cut(kv, "="); !BuiltinVar(name) {
			t.Errorf("Vars sets %s, which BuiltinVar does not know", name)
		}
	}
}

// A job that runs one stage lists the work of the others marked, so its log never reads as if it
// built or merged what another job does.
func TestTextMarksOtherJobsWork(t *testing.T) {
	cases := []struct {
		only   string
		marked []string // line prefixes that must end in "(another job)"
		own    []string // line prefixes that must not
	}{
		{only: "release", marked: []string{"build app", "merge app"}, own: []string{"release app"}},
		{only: "build", marked: []string{"merge app", "release app"}, own: []string{"build app", "build db"}},
		{only: "", own: []string{"build app", "merge app", "release app"}},
	}
	for _, c := range cases {
		t.Run("only "+c.only, func(t *testing.T) {
			p, err := Make(Input{Ref: rules.Ref{Tag: "1.2.3"}, Only: c.only, Project: "p", ReleaseRegistry: "r.test/x", Targets: targets("1.2.3")})
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(p.Text(), "\n")
			find := func(prefix string) string {
				for _, l := range lines {
					if strings.HasPrefix(l, prefix+" ") || strings.HasPrefix(l, prefix+":") {
						return l
					}
				}
				t.Fatalf("no %q line in:\n%s", prefix, p.Text())
				return ""
			}
			for _, m := range c.marked {
				if l := find(m); !strings.HasSuffix(l, " (another job)") {
					t.Errorf("--only=%s: %q is not marked as another job's", c.only, l)
				}
			}
			for _, o := range c.own {
				if l := find(o); strings.Contains(l, "another job") {
					t.Errorf("--only=%s: %q is marked as another job's", c.only, l)
				}
			}
		})
	}
}

func TestAttestationsCoverEveryImageWhereverBuilt(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Input
	}{
		{"tag, ec2 arm64", Input{Ref: rules.Ref{Tag: "1.2.3"}, Arm64: true, ARMBuilder: ARMEC2, Project: "shop", ReleaseRegistry: "rel.test/r"}},
		{"tag, qemu arm64 and armv7", Input{Ref: rules.Ref{Tag: "1.2.3"}, Arm64: true, Armv7: true, Project: "shop", ReleaseRegistry: "rel.test/r"}},
		{"staging", Input{Ref: rules.Ref{Branch: "staging"}, Arm64: true, ARMBuilder: ARMEC2, Project: "shop"}},
		{"release job only", Input{Ref: rules.Ref{Tag: "1.2.3"}, Only: "release", Project: "shop", ReleaseRegistry: "rel.test/r", SBOMFormat: "cyclonedx-json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Targets = targets(ImageTag(tc.in.Ref))
			tc.in.Attest = true
			p, err := Make(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{}
			for _, b := range p.Builds {
				want["build "+b.Target+" "+b.Platform+" "+b.Push] = true
			}
			for _, m := range p.Merges {
				want["manifests "+m.Target+"  "+m.Tags[0]] = true
			}
			for _, c := range p.Copies {
				want["release "+c.Target+"  "+c.To+":"+c.Tag] = true
			}
			format := tc.in.SBOMFormat
			if format == "" {
				format = "spdx-json"
			}
			got := map[string]bool{}
			for _, a := range p.Attestations {
				got[string(a.Stage)+" "+a.Target+" "+a.Platform+" "+a.Image] = true
				if a.Stage == rules.Build && !slices.Contains(a.Steps, "sbom "+format) {
					t.Errorf("%s [%s]: steps %q lack the SBOM in the format asked", a.Target, a.Platform, a.Steps)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("attestations (-want +got):\n%s", diff)
			}
			if len(p.Copies) > 0 == (len(p.Merges) == 0) && tc.in.Ref.Tag != "" {
				t.Errorf("a tag plan has %d merges and %d copies", len(p.Merges), len(p.Copies))
			}
			tc.in.Attest = false
			if p, _ := Make(tc.in); len(p.Attestations) != 0 {
				t.Errorf("without signing the plan attests: %v", p.Attestations)
			}
		})
	}
}

func TestAnnotations(t *testing.T) {
	tg := targets("1.0.0")
	tg[1].Annotations = []string{"org.example.kind=db", "manifest[linux/arm64]:org.example.arch=arm", "index:org.example.flavour=lite",
		"manifest-descriptor[linux/arm64]:org.example.d=arm"}
	p, err := Make(Input{Ref: rules.Ref{Branch: "staging"}, Arm64: true, Targets: tg})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for _, b := range p.Builds {
		got[b.Target+" "+b.Platform] = b.Annotations
	}
	want := map[string]map[string]string{
		"app linux/amd64": nil, "app linux/arm64": nil,
		"db linux/amd64": {"org.example.kind": "db"},
		"db linux/arm64": {"org.example.kind": "db", "org.example.arch": "arm"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("build annotations (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"org.example.flavour": "lite"}, p.Merges[1].Annotations); d != "" {
		t.Errorf("index annotations (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]map[string]string{nil, {"org.example.d": "arm"}}, p.Merges[1].Descriptors); d != "" {
		t.Errorf("descriptor annotations (-want +got):\n%s", d)
	}
	if p.Merges[0].Annotations != nil || p.Merges[0].Descriptors != nil {
		t.Errorf("app has no annotations, got %v %v", p.Merges[0].Annotations, p.Merges[0].Descriptors)
	}
	tg[0].Annotations = []string{"index:org.opencontainers.image.version=9.9.9"}
	if _, err := Make(Input{Ref: rules.Ref{Branch: "staging"}, Targets: tg}); err == nil || !strings.Contains(err.Error(), "org.opencontainers.image.version is the pipeline's own") {
		t.Errorf("an index annotation of the version: %v", err)
	}
	tg[0].Annotations = []string{"index-descriptor:x=1"}
	if _, err := Make(Input{Ref: rules.Ref{Branch: "staging"}, Targets: tg}); err == nil || !strings.Contains(err.Error(), "target app: ") ||
		!strings.Contains(err.Error(), "OCI layout") {
		t.Errorf("an index-descriptor annotation: %v", err)
	}
}

// The gate scans every per-platform image where the rules merge manifests (staging and version
// tags), in the manifests stage, and nowhere else; `scan --tag` scans the released indexes once
// per platform merged.
func TestScans(t *testing.T) {
	for _, tc := range []struct {
		name string
		ref  rules.Ref
		want int
	}{
		{"version tag", rules.Ref{Tag: "1.2.3"}, 4},
		{"staging", rules.Ref{Branch: "staging"}, 4},
		{"default branch", rules.Ref{Branch: "main", DefaultBranch: "main"}, 0},
		{"work branch", rules.Ref{Branch: "feat/x"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tag := ImageTag(tc.ref)
			p, err := Make(Input{Ref: tc.ref, Arm64: true, Project: "shop", ReleaseRegistry: "rel.test/r", Targets: targets(tag),
				Scan: true, ScanThreshold: "CRITICAL"})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Scans) != tc.want {
				t.Fatalf("%d scans, want %d: %+v", len(p.Scans), tc.want, p.Scans)
			}
			for i, sc := range p.Scans {
				b := p.Builds[i]
				want := Scan{Stage: rules.Manifests, Target: b.Target, Platform: b.Platform, Image: b.Push, FailOn: "CRITICAL"}
				if diff := cmp.Diff(want, sc); diff != "" {
					t.Errorf("scan %d (-want +got):\n%s", i, diff)
				}
			}
			text := p.Text()
			if tc.want > 0 && !strings.Contains(text, "scan db [linux/arm64] in manifests: trivy, fail on CRITICAL -> reg.test/p/db:"+tag+"-arm64 (by digest)") {
				t.Errorf("the text plan does not list the arm64 scan of db:\n%s", text)
			}
		})
	}
	p, err := Make(Input{Ref: rules.Ref{Tag: "1.2.3"}, Arm64: true, Project: "shop", ReleaseRegistry: "rel.test/r", Targets: targets("1.2.3")})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Scans) != 0 {
		t.Errorf("without with-scan the plan scans %+v", p.Scans)
	}
	var got []string
	for _, sc := range p.ReleasedScans("HIGH") {
		got = append(got, sc.Target+" "+sc.Platform+" "+sc.Image+" "+sc.FailOn)
	}
	want := []string{"app linux/amd64 rel.test/r/shop-app:1.2.3 HIGH", "app linux/arm64 rel.test/r/shop-app:1.2.3 HIGH", "db linux/amd64 rel.test/r/shop-db:1.2.3 HIGH", "db linux/arm64 rel.test/r/shop-db:1.2.3 HIGH"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("released scans (-want +got):\n%s", diff)
	}
}
