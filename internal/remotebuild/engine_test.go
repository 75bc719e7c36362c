//go:build full

package remotebuild

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shipyard/internal/bake"
)

// TestDriverOnEngine runs a rendered driver with `dagger run` on the real engine, as the CLI
// container does on a builder: the repository is uploaded once, base is built and its root
// filesystem given to app as a named context, app gets its build arg, stage, labels and build
// secret, and is published with registry credentials; a failing build names its command's
// output. The secrets' values are in no file of the driver and not in dagger's output.
func TestDriverOnEngine(t *testing.T) {
	if os.Getenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST") == "" {
		t.Skip("no engine: run through hack/test (eval \"$(hack/engine env)\")")
	}
	for _, tool := range []string{"dagger", "jq", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH", tool)
		}
	}
	registry := os.Getenv("SHIPYARD_REGISTRY")
	if registry == "" {
		registry = "127.0.0.1:5000"
	}
	const secret, password = "s3cret-build-value", "s3cret-registry-password"
	repo := t.TempDir()
	write := func(path, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, path), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	nonce := fmt.Sprint(time.Now().UnixNano())
	write("base/Dockerfile", "FROM debian:bookworm-slim\nRUN echo base-"+nonce+" > /base.txt\n")
	write("web/index.html", "hello\n")
	write("app/Dockerfile", `FROM debian:bookworm-slim AS prod
ARG GREETING
COPY --from=base /base.txt /from-base.txt
COPY --from=assets index.html /index.html
RUN --mount=type=secret,id=npm test "$(sha256sum </run/secrets/npm)" = "`+fmt.Sprintf("%x", sha256.Sum256([]byte(secret)))+`  -" && echo "$GREETING" > /greeting
FROM prod AS other
RUN false
`)
	write("bad/Dockerfile", "FROM debian:bookworm-slim\nRUN echo broken-on-purpose >&2; exit 3\n")
	targets := []*bake.Target{
		{Name: "base", Context: "base", Dockerfile: "Dockerfile"},
		{Name: "app", Context: "app", Dockerfile: "Dockerfile", Target: "prod", Args: map[string]string{"GREETING": "hi " + nonce},
			Labels: map[string]string{"org.example.test": nonce}, Secrets: []bake.Secret{{ID: "npm"}},
			Contexts: map[string]string{"base": "target:base", "assets": "./web"}},
		{Name: "bad", Context: "bad", Dockerfile: "Dockerfile"},
	}
	ref := fmt.Sprintf("%s/remotebuild-test/app:%s-amd64", registry, nonce)
	secrets := []Secret{{ID: "npm", Env: "SHIPYARD_BUILD_SECRET_0"}}
	auth := []Auth{{Address: registry, Username: "ci", Env: "SHIPYARD_REGISTRY_PASSWORD_0"}}
	var outputs []string
	drive := func(builds ...Build) (Plan, Outcome, error) {
		t.Helper()
		steps, err := Steps(targets, builds, secrets, func(t *bake.Target) (string, error) {
			b, err := os.ReadFile(filepath.Join(repo, t.Context, t.Dockerfile))
			return string(b), err
		})
		if err != nil {
			t.Fatal(err)
		}
		p := Plan{Source: repo, Steps: steps, Secrets: secrets, Auth: auth}
		d, err := p.Render()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		for path, text := range d.Files {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, path), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("dagger", "--progress=plain", "run", "sh", Script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SHIPYARD_BUILD_SECRET_0="+secret, "SHIPYARD_REGISTRY_PASSWORD_0="+password)
		started := time.Now()
		out, runErr := cmd.CombinedOutput()
		t.Logf("dagger run: %v in %s", runErr, time.Since(started).Round(time.Millisecond))
		files := map[string]string{}
		entries, _ := os.ReadDir(filepath.Join(dir, OutDir))
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(dir, OutDir, e.Name()))
			files[e.Name()] = string(b)
		}
		outputs = append(outputs, string(out))
		_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				b, _ := os.ReadFile(path)
				for _, value := range []string{secret, password} {
					if strings.Contains(string(b), value) {
						t.Errorf("%s holds a secret", path)
					}
				}
			}
			return nil
		})
		return p, p.Parse(files), runErr
	}

	_, o, err := drive(Build{Target: "app", Platform: "linux/amd64", Push: ref})
	pub := o.Published()
	if err != nil || len(pub) != 1 || pub[0].Ref != ref || !strings.HasPrefix(pub[0].Digest, "sha256:") {
		t.Fatalf("exit %v, published %+v, want app at %s with a digest\nresults %+v\n%s", err, pub, ref, o.Results, tailOf(outputs[0], 60))
	}
	for _, r := range o.Results {
		if !r.Ran || r.Start.IsZero() || r.End.Before(r.Start) {
			t.Errorf("%s: ran %v from %v to %v", r.What(), r.Ran, r.Start, r.End)
		}
	}

	// a failed build stops the builds that would follow it (app, after base's wave)
	_, o, err = drive(Build{Target: "bad", Platform: "linux/amd64", Push: registry + "/remotebuild-test/bad:x"}, Build{Target: "app", Platform: "linux/amd64", Push: ref})
	fails := o.Failures()
	if err == nil || len(fails) != 1 || fails[0].What() != "build bad [linux/amd64]" || !strings.Contains(fails[0].Err, "broken-on-purpose") {
		t.Errorf("exit %v, failures %+v, want bad's build with its output", err, fails)
	}
	for _, r := range o.Results {
		if r.Target == "app" && r.Ran {
			t.Errorf("%s ran after bad failed", r.What())
		}
	}

	// what app is: read back through the engine, from the registry
	check := fmt.Sprintf(`{ container { from(address: %q) { a: file(path: "/from-base.txt") { contents } b: file(path: "/greeting") { contents } c: file(path: "/index.html") { contents } label(name: "org.example.test") } } }`, ref+"@"+pub[0].Digest)
	q := exec.Command("dagger", "query", "--progress=plain", "-M")
	q.Stdin = strings.NewReader(check)
	q.Dir = t.TempDir()
	got, err := q.Output()
	if err != nil {
		t.Fatalf("reading the pushed image: %v\n%s", err, got)
	}
	for _, want := range []string{"base-" + nonce, "hi " + nonce, "hello", `"label": "` + nonce + `"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the pushed image lacks %q:\n%s", want, got)
		}
	}

	for _, out := range outputs {
		for _, value := range []string{secret, password} {
			if strings.Contains(out, value) {
				t.Errorf("dagger's output shows a secret")
			}
		}
	}
}

func tailOf(s string, n int) string { return lastLines(s, n) }
