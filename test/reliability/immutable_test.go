//go:build full

package reliability

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A release ships only what its own commit merged and never replaces a released version: with
// the CLI, as the GitLab release job runs it. An index merged from another commit is refused
// before anything is copied; 1.2.3 released again with other content is refused, naming what
// the release repository holds, and leaves the version and latest as they were; --overwrite
// repairs it.
func TestReleasedVersionsAreNeverReplaced(t *testing.T) {
	needEngine(t)
	port := closedPort(t)
	host := startRegistry(t, port, "")
	build, rel := host+"/build", host+"/rel"
	const commit = "1111111111111111111111111111111111111111"
	digest := func(ref string) string { return headDigest(t, ref) }
	released := func() map[string]string {
		out := map[string]string{}
		for _, target := range defaultTargets {
			repo := fmt.Sprintf("%s/shop-%s", rel, target)
			out[repo+":1.2.3"], out[repo+":latest"] = digest(repo+":1.2.3"), digest(repo+":latest")
		}
		return out
	}
	release := func(extra ...string) result {
		t.Helper()
		args := append([]string{"--build-registry=" + build, "--release-registry=" + rel, "--project=shop",
			fmt.Sprintf("--registry-tunnel=tcp://localhost:%d", port), "with-gitlab", "--commit-sha=" + commit,
			"with-latest", "--tag-type-override=annotated", "release", "--ref=1.2.3", "--tag=1.2.3", "--only=release"}, extra...)
		return daggerCall(t, 20*time.Minute, nil, args...)
	}

	seedMergedFrom(t, build, "1.2.3", commit)
	if r := release(); r.Err != nil {
		t.Fatalf("the first release of 1.2.3: %v\n%s", r.Err, tail(r.Stderr, 30))
	}
	first := released()

	// another pipeline of the ref merged its own commit under the tag
	seedMergedFrom(t, build, "1.2.3", "2222222222222222222222222222222222222222")
	r := release()
	if r.Err == nil || !strings.Contains(errorMessage(r.Stderr), "was merged from commit 2222222222222222222222222222222222222222, and this release is of commit "+commit) {
		t.Errorf("releasing another commit's index: want a refusal naming both commits, got %v\n%s", r.Err, tail(r.Stderr, 20))
	}

	// the same commit built again, other content
	seedMergedFrom(t, build, "1.2.3", commit)
	r = release()
	msg := errorMessage(r.Stderr)
	if r.Err == nil || !strings.Contains(msg, "version already released with other content") || !strings.Contains(msg, "--overwrite") ||
		!strings.Contains(msg, fmt.Sprintf("%s/shop-django:1.2.3 holds %s", rel, first[rel+"/shop-django:1.2.3"])) {
		t.Errorf("releasing 1.2.3 again with other content: want a refusal naming what is released and --overwrite, got %v\n%s", r.Err, tail(r.Stderr, 20))
	}
	for ref, d := range released() {
		if d != first[ref] {
			t.Errorf("a refused release changed %s: %s, was %s", ref, d, first[ref])
		}
	}

	if r := release("--overwrite"); r.Err != nil {
		t.Fatalf("the repair with --overwrite: %v\n%s", r.Err, tail(r.Stderr, 30))
	}
	for _, target := range defaultTargets {
		ref := fmt.Sprintf("%s/shop-%s:1.2.3", rel, target)
		if got, want := digest(ref), digest(fmt.Sprintf("%s/%s:1.2.3", build, target)); got != want {
			t.Errorf("--overwrite left %s at %s, want the new build's %s", ref, got, want)
		}
	}
}
