//go:build full

package e2e

import (
	"context"
	"debug/elf"
	"fmt"
	"strings"
	"testing"
	"time"

	"net/url"

	"shipyard/internal/faultproxy"
)

// releaseEnv is what the release flow tests share: one build, a build and a release registry.
type releaseEnv struct {
	buildPrefix string // 127.0.0.1:5000/e2e-…
	release     string // 127.0.0.1:50xx/…
	tunnels     []string
	gitDir      string
}

var targets = []string{"postgres", "traefik", "watchtower", "django"}

// args is the configuration of this environment, then `release` of one stage for version.
func (e *releaseEnv) args(version, only string) []string {
	a := []string{"--build-registry", e.buildPrefix, "--release-registry", e.release, "--project", "shipyard",
		"--git-dir", e.gitDir, "--arm64"}
	for _, tn := range e.tunnels {
		a = append(a, "--registry-tunnel", tn)
	}
	return append(a, "with-gitlab", "--commit-sha", "e2e", "release", "--ref", version, "--tag", version, "--only", only)
}

// copyPerArch makes the per-platform images of version v by copying those of 1.0.0 (what a build
// of another commit would push), so the flow is exercised without rebuilding images.
func copyPerArch(t *testing.T, prefix, from, to string, platforms map[string][]string) {
	t.Helper()
	c := hostRegistry()
	for target, archs := range platforms {
		for _, a := range archs {
			src := fmt.Sprintf("%s/%s:%s-%s", prefix, target, from, a)
			dst := fmt.Sprintf("%s/%s:%s-%s", prefix, target, to, a)
			if _, err := c.Copy(context.Background(), src, dst); err != nil {
				t.Fatalf("copying %s to %s: %v", src, dst, err)
			}
		}
	}
}

// The whole flow on the real engine and two real registries: build once (amd64 + django arm64),
// merge manifests, release a sequence of tags, and check where latest ends.
func TestReleaseFlow(t *testing.T) {
	needEngine(t)
	relPort := freeRegistryPort(t, 5001)
	rel := startRegistry(t, relPort)
	env := &releaseEnv{
		buildPrefix: fmt.Sprintf("%s/e2e-%d", mirror, time.Now().Unix()),
		release:     rel + "/releases",
		tunnels:     []string{"tcp://localhost:" + strings.Split(mirror, ":")[1], fmt.Sprintf("tcp://localhost:%d", relPort)},
		gitDir:      tagRepo(t, []string{"1.0.0", "1.1.0-rc.1", "1.0.1", "0.9.5", "1.2.0"}, []string{"2.0.0alpha"}),
	}
	perArch := map[string][]string{"postgres": {"amd64"}, "traefik": {"amd64", "arm64"}, "watchtower": {"amd64", "arm64"}, "django": {"amd64", "arm64"}}

	t.Run("build", func(t *testing.T) {
		r := daggerCall(t, 60*time.Minute, env.args("1.0.0", "build")...)
		if r.Err != nil {
			t.Fatalf("build stage: %v\n%s\n%s", r.Err, r.Stdout, tail(r.Stderr, 80))
		}
		for target, archs := range perArch {
			for _, a := range archs {
				mustDigest(t, fmt.Sprintf("%s/%s:1.0.0-%s", env.buildPrefix, target, a))
			}
		}
		assertArm64Python(t, fmt.Sprintf("%s/django:1.0.0-arm64", env.buildPrefix))
	})
	if t.Failed() {
		return
	}

	manifestDigest := map[string]map[string]string{} // version -> target -> index digest
	release := func(t *testing.T, version string, wantMoved bool, reason string) {
		t.Helper()
		if version != "1.0.0" {
			copyPerArch(t, env.buildPrefix, "1.0.0", version, perArch)
		}
		r := daggerCall(t, 20*time.Minute, env.args(version, "manifests")...)
		if r.Err != nil {
			t.Fatalf("manifests %s: %v\n%s", version, r.Err, tail(r.Stderr, 60))
		}
		manifestDigest[version] = map[string]string{}
		for _, tg := range targets {
			manifestDigest[version][tg] = mustDigest(t, fmt.Sprintf("%s/%s:%s", env.buildPrefix, tg, version))
		}
		if version == "1.0.0" {
			// the same inputs give the same index: re-running the pipeline changes no version tag
			if r := daggerCall(t, 20*time.Minute, env.args(version, "manifests")...); r.Err != nil {
				t.Fatalf("manifests %s again: %v\n%s", version, r.Err, tail(r.Stderr, 60))
			}
			for _, tg := range targets {
				if again := mustDigest(t, fmt.Sprintf("%s/%s:%s", env.buildPrefix, tg, version)); again != manifestDigest[version][tg] {
					t.Errorf("manifests of %s made %s, then %s from the same inputs", tg, manifestDigest[version][tg], again)
				}
			}
		}
		r = daggerCall(t, 20*time.Minute, env.args(version, "release")...)
		if r.Err != nil {
			t.Fatalf("release %s: %v\n%s\n%s", version, r.Err, r.Stdout, tail(r.Stderr, 60))
		}
		for _, tg := range targets {
			dest := fmt.Sprintf("%s/shipyard-%s:%s", env.release, tg, version)
			if got, want := mustDigest(t, dest), manifestDigest[version][tg]; got != want {
				t.Errorf("%s has digest %s, the manifests stage made %s", dest, got, want)
			}
			if !strings.Contains(r.Stdout, manifestDigest[version][tg]) {
				t.Errorf("release log does not show the digest released for %s:\n%s", tg, r.Stdout)
			}
		}
		if !strings.Contains(r.Stdout, reason) {
			t.Errorf("release %s: log lacks the reason %q:\n%s", version, reason, r.Stdout)
		}
		var built []string
		for _, l := range strings.Split(r.Stderr, "\n") {
			// a build span, or a plan line of a build this job runs (another job's are marked)
			if strings.Contains(l, "dockerBuild") || (strings.Contains(l, "build django") && !strings.Contains(l, "(another job)")) {
				built = append(built, l)
			}
		}
		if len(built) > 0 {
			t.Errorf("release %s built an image; it must only copy:\n%s", version, strings.Join(built[:min(len(built), 10)], "\n"))
		}
	}
	steps := []struct {
		version string
		reason  string
	}{
		{"1.0.0", "move latest to 1.0.0"},
		{"1.1.0-rc.1", "pre-release"},
		{"1.0.1", "move latest to 1.0.1"},
		{"2.0.0alpha", "lightweight"},
		{"0.9.5", "older"},
	}
	for _, s := range steps {
		ok := t.Run("release "+s.version, func(t *testing.T) { release(t, s.version, false, s.reason) })
		if !ok {
			return
		}
	}
	assertLatest := func(t *testing.T, version string) {
		t.Helper()
		for _, tg := range targets {
			latest := mustDigest(t, fmt.Sprintf("%s/shipyard-%s:latest", env.release, tg))
			if latest != manifestDigest[version][tg] {
				t.Errorf("latest of %s is %s, want %s's %s", tg, latest, version, manifestDigest[version][tg])
			}
		}
	}
	assertLatest(t, "1.0.1")

	// The release registry fails halfway (every push of the second image's manifest answers 500):
	// the release stops with a clear error and latest stays where it was, on every image.
	t.Run("registry fails halfway", func(t *testing.T) {
		copyPerArch(t, env.buildPrefix, "1.0.0", "1.2.0", perArch)
		if r := daggerCall(t, 20*time.Minute, env.args("1.2.0", "manifests")...); r.Err != nil {
			t.Fatalf("manifests 1.2.0: %v\n%s", r.Err, tail(r.Stderr, 40))
		}
		target, _ := url.Parse("http://" + rel)
		proxy := faultproxy.New(target, faultproxy.FailAll("PUT", `/v2/releases/shipyard-traefik/manifests/.*`, 500))
		proxy.Start()
		defer proxy.Close()
		_, port, _ := strings.Cut(proxy.Host(), ":")
		faulty := &releaseEnv{buildPrefix: env.buildPrefix, release: proxy.Host() + "/releases", gitDir: env.gitDir,
			tunnels: []string{env.tunnels[0], "tcp://localhost:" + port}}
		r := daggerCall(t, 20*time.Minute, faulty.args("1.2.0", "release")...)
		if r.Err == nil {
			t.Fatalf("release through a failing registry succeeded:\n%s", r.Stdout)
		}
		if all := r.Stdout + r.Stderr; !strings.Contains(all, "shipyard-traefik") || !strings.Contains(all, "stage release failed") {
			t.Errorf("the error does not name the stage and the image that failed:\n%s", tail(all, 40))
		}
		if proxy.Injected() == 0 {
			t.Errorf("the fault proxy injected no fault: the release did not go through it")
		}
		assertLatest(t, "1.0.1")
	})
}

// assertArm64Python finds /usr/bin/python3.11 in the image's layers and checks it is an AArch64 ELF.
func assertArm64Python(t *testing.T, ref string) {
	t.Helper()
	if _, arch := imageLabels(t, ref); arch != "arm64" {
		t.Errorf("%s config architecture = %q, want arm64", ref, arch)
	}
	wantELF(t, ref, "usr/bin/python3.11", elf.EM_AARCH64)
}
