//go:build full

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

	"shipyard/internal/testenv"
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

// tunnel is the registry tunnel to a port of the engine host's loopback.
func tunnel(port int) string { return fmt.Sprintf("--registry-tunnel=tcp://localhost:%d", port) }

// config is the constructor configuration of a release on the case's build and release
// repositories (given before the verb and any with-… call).
func (e *badEnv) config() []string {
	return []string{"--build-registry=" + e.prefix() + "/build", "--release-registry=" + e.prefix() + "/rel", tunnel(e.port)}
}

// badCase is one bad input given to the real CLI.
type badCase struct {
	name string
	// edit, if set, changes the bake file of a copy of the repository passed as --source, and
	// returns the new text and a regular expression the error message must match
	edit func(src string) (edited, want string)
	// args are the whole command line after `dagger call`: configuration, with-… calls, the verb
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
	// timeout bounds the call (default 15 minutes)
	timeout time.Duration
}

// fakeHostKey is a well-formed SSH host key line nobody serves.
const fakeHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDbGNEfbXJg0MeIc9huEIKtwO1y8oDDTtgQnyra3R/px"

// stateDir writes, in the seed's KEY=VALUE form, the state file of a job whose instance exists
// on paper only, at the public address ip.
func stateDir(job int, ip string) string {
	dir, err := os.MkdirTemp("", "shipyard-state-")
	if err != nil {
		panic(err)
	}
	st := fmt.Sprintf("TARGET_INSTANCE_ID=i-0123456789abcdef0\nE2C_PUBLIC_IP=%s\nE2C_INSTANCE_STRATEGY=template\nE2C_REGION=eu-north-1\nCI_JOB_ID=%d\n", ip, job)
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

// release is the case's configuration, then with-… calls and verb arguments (words).
func release(words ...string) func(e *badEnv) []string {
	return func(e *badEnv) []string { return append(e.config(), words...) }
}

// preflight is how every settings error of internal/plan begins.
const preflight = `preflight: invalid pipeline settings`

// unreachable is how a message should say a registry cannot be reached.
const unreachable = `(?i)(unreachable|cannot reach|can't reach|could not reach|not reachable|cannot connect|connection refused)`

var badCases = []badCase{
	{
		// every missing ARM-builder setting is reported at once, before anything is launched
		name: "missing AWS settings",
		args: static2("--arm64", "--arm-builder=ec2", "with-gitlab", "--job-id=42", "with-arm-instance", "--instance-strategy=existing",
			"arm-builder", "--ref=staging", "setup"),
		want: static(`ARM builder preflight \(--arm-builder=ec2\)`, `E2C_INSTANCE_ID`, `AWS credentials missing`,
			`--ssh-private-key=env:E2C_SSH_PRIVATE_KEY`),
	},
	{
		// the builder's engine does not answer: a clear error within 30 s, not minutes of retries.
		// The state file says the instance is up at 127.0.0.1; inside the builder container that
		// is its own loopback, where nothing listens on the SSH port given.
		name: "unreachable remote engine",
		args: func(e *badEnv) []string {
			return []string{"--arm64", "--arm-builder=ec2", "with-gitlab", "--job-id=43",
				"with-arm-instance", "--launch-template-id=lt-0123456789abcdef0",
				"with-arm-access", "--aws-access-key-id=env:SHIPYARD_RELIABILITY_AWS_KEY", "--aws-secret-access-key=env:SHIPYARD_RELIABILITY_AWS_SECRET",
				"--ssh-private-key=env:SHIPYARD_RELIABILITY_SSH_KEY", "--ssh-host-key=" + fakeHostKey,
				fmt.Sprintf("--ssh-port=%d", e.closed), "--dagger-cli=" + daggerPath(),
				"arm-builder", "--ref=staging", "--state-dir=" + stateDir(43, "127.0.0.1"), "build"}
		},
		env: []string{"SHIPYARD_RELIABILITY_SSH_KEY=not-a-real-key", "SHIPYARD_RELIABILITY_AWS_KEY=AKIARELIABILITY",
			"SHIPYARD_RELIABILITY_AWS_SECRET=reliability-aws-secret"},
		want: func(e *badEnv) []string {
			return []string{fmt.Sprintf(`builder's engine at 127\.0\.0\.1:%d is unreachable`, e.closed), `(?i)connection refused`}
		},
		wantNot: []string{`failed to resolve image`},
		// the builder container (Debian with openssh-client) is made before the 30 s probe
		timeout: 30 * time.Minute,
	},
	{
		// the setting is named as GitLab spells it (ARM_BUILDER), before anything is built
		name: "unknown ARM builder",
		args: func(e *badEnv) []string {
			return append(append(e.config(), "--arm64", "--arm-builder=gpu"), "release", "--ref=1.2.3", "--tag=1.2.3", "--only=release")
		},
		want:     static(preflight, `--arm-builder \(ARM_BUILDER\) "gpu": use qemu or ec2`),
		registry: true,
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
		// a bad override given once in the configuration reaches every verb: the release's plan too
		name:     "bad --set",
		args:     release("--set=NOEQUALS", "release", "--ref=1.2.3", "--tag=1.2.3", "--only=release"),
		want:     static(`bad --set "NOEQUALS": use NAME=VALUE`),
		registry: true,
	},
	{
		name:     "release of a tag that is not a version",
		args:     release("release", "--ref=x", "--tag=nope", "--only=release"),
		want:     static(preflight, `stage not allowed for this ref`, `tag nope is not a version`),
		registry: true,
	},
	{
		name:     "release without a tag",
		args:     release("release", "--ref=x", "--tag=", "--only=release"),
		want:     static(`running stage release: stage not allowed for this ref \(branch x matches no build rule`),
		registry: true,
	},
	{
		// the message names the flag and the GitLab variable it comes from in a CI job
		name:     "unknown latest strategy",
		args:     release("with-latest", "--update-latest-strategy=sometimes", "release", "--ref=1.2.3", "--tag=1.2.3", "--only=release"),
		want:     static(preflight, `--update-latest-strategy \(UPDATE_LATEST_STRATEGY\): unknown latest strategy "sometimes": use one of auto, force, skip`),
		registry: true,
	},
	{
		// as above, the setting (TAG_TYPE_OVERRIDE) is named
		name:     "bad TAG_TYPE_OVERRIDE",
		args:     release("with-latest", "--tag-type-override=heavy", "release", "--ref=1.2.3", "--tag=1.2.3", "--only=release"),
		want:     static(preflight, `--tag-type-override \(TAG_TYPE_OVERRIDE\): unknown tag type "heavy": use "annotated" or "lightweight"`),
		registry: true,
	},
	{
		// the old pipeline's switch is named as it spells it (E2C_USAGE), before anything is built
		name:     "bad E2C_USAGE",
		args:     release("with-old-pipeline", "--usage=yes", "release", "--ref=1.2.3", "--tag=1.2.3", "--only=release"),
		want:     static(preflight, `--usage \(E2C_USAGE\) "yes": use true`),
		registry: true,
	},
	{
		// both bad settings at once: every problem is reported in one run
		name: "bad strategy and tag type together",
		args: release("with-latest", "--update-latest-strategy=sometimes", "--tag-type-override=heavy",
			"release", "--ref=1.2.3", "--tag=1.2.3", "--only=release"),
		want:     static(`UPDATE_LATEST_STRATEGY\): unknown latest strategy "sometimes"`, `TAG_TYPE_OVERRIDE\): unknown tag type "heavy"`),
		registry: true,
	},
	{
		name: "missing release registry",
		args: func(e *badEnv) []string {
			return []string{"--build-registry=" + e.prefix() + "/build", tunnel(e.port), "release", "--ref=1.2.3", "--tag=1.2.3", "--only=release"}
		},
		want:     static(preflight, `the release stage needs --release-registry \(RELEASE_REGISTRY_IMAGE\)`),
		registry: true,
	},
	{
		name:     "unknown --only stage",
		args:     release("release", "--ref=1.2.3", "--tag=1.2.3", "--only=deploy"),
		want:     static(`--only: stage "deploy": unknown stage: pass one of lint, test, build, manifests, release`),
		registry: true,
	},
	{
		name:     "--only a stage the rules refuse for the ref",
		args:     release("release", "--ref=feat/x", "--only=release"),
		want:     static(`running stage release: stage not allowed for this ref \(branch feat/x matches feat/\*`),
		registry: true,
	},
	{
		// a registry that cannot be reached is not "missing, run the build stage first" (a rebuild
		// would not help)
		name: "unreachable build registry (manifests)",
		args: func(e *badEnv) []string {
			return []string{fmt.Sprintf("--build-registry=127.0.0.1:%d/x", e.closed), "--set=TAG=t", tunnel(e.closed),
				"release", "--ref=staging", "--only=manifests"}
		},
		want:    func(e *badEnv) []string { return []string{fmt.Sprintf(`127\.0\.0\.1:%d`, e.closed), unreachable} },
		wantNot: []string{`run the build stage first`},
	},
	{
		// as above: a refused password is not a missing image
		name: "wrong registry password (manifests)",
		args: func(e *badEnv) []string {
			return []string{fmt.Sprintf("--build-registry=127.0.0.1:%d/x", e.auth), "--set=TAG=t", tunnel(e.auth),
				"with-registry-auth", fmt.Sprintf("--address=127.0.0.1:%d", e.auth), "--username=u", "--secret=env:SHIPYARD_RELIABILITY_PASSWORD",
				"release", "--ref=staging", "--only=manifests"}
		},
		env:     []string{"SHIPYARD_RELIABILITY_PASSWORD=wrong"},
		want:    static(`registry rejected the credentials \(check the registry user/password secret\)`),
		wantNot: []string{`run the build stage first`},
	},
	{
		// the same for release: an unreachable build registry is not "missing, run the manifests stage first"
		name: "unreachable build registry (release)",
		args: func(e *badEnv) []string {
			return []string{fmt.Sprintf("--build-registry=127.0.0.1:%d/b", e.closed), "--release-registry=" + e.prefix() + "/rel",
				tunnel(e.port), tunnel(e.closed), "release", "--ref=1.2.3", "--tag=1.2.3", "--only=release"}
		},
		want:     func(e *badEnv) []string { return []string{fmt.Sprintf(`127\.0\.0\.1:%d`, e.closed), unreachable} },
		wantNot:  []string{`run the manifests stage first`},
		registry: true,
	},
	{
		// the message says the registry cannot be reached, not only "Get …/v2/: EOF"
		name: "unreachable release registry",
		args: func(e *badEnv) []string {
			return []string{"--build-registry=" + e.prefix() + "/build", fmt.Sprintf("--release-registry=127.0.0.1:%d/rel", e.closed),
				tunnel(e.port), tunnel(e.closed), "with-latest", "--tag-type-override=annotated",
				"release", "--ref=1.2.3", "--tag=1.2.3", "--only=release"}
		},
		want:     func(e *badEnv) []string { return []string{fmt.Sprintf(`127\.0\.0\.1:%d/rel`, e.closed), unreachable} },
		registry: true,
	},
	{
		// plan is configured like release, so it previews the decision release would take
		name: "unreachable GitLab API falls through (plan)",
		args: func(e *badEnv) []string {
			return release("with-gitlab", fmt.Sprintf("--server-url=http://127.0.0.1:%d", e.closed), "--project-id=1",
				"--job-token=env:SHIPYARD_RELIABILITY_TOKEN", "plan", "--ref=1.2.3", "--tag=1.2.3")(e)
		},
		env:      []string{"SHIPYARD_RELIABILITY_TOKEN=glcbt-reliability"},
		ok:       true,
		want:     static(`tag type \[gitlab\]: unreachable .*: no answer`, `tag type \[heuristic\]: guessed from the name`, `decided by heuristic`),
		registry: true,
	},
	{
		name: "unreachable GitLab API falls through (release dry run)",
		args: func(e *badEnv) []string {
			return release("with-gitlab", fmt.Sprintf("--server-url=http://127.0.0.1:%d", e.closed), "--project-id=1",
				"--job-token=env:SHIPYARD_RELIABILITY_TOKEN", "release", "--ref=1.2.3", "--tag=1.2.3", "--only=release", "--dry-run")(e)
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
	startRegistry(t, auth, testenv.Htpasswd(t, "u", "right"))
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

			timeout := c.timeout
			if timeout == 0 {
				timeout = 15 * time.Minute
			}
			r := daggerCall(t, timeout, c.env, args...)

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
