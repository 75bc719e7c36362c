//go:build full

package reliability

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Two releases (1.2.3 and 1.2.4) started together against the same registry end with latest on
// 1.2.4 for every image, in every trial.
func TestConcurrentReleases(t *testing.T) {
	needEngine(t)
	port := closedPort(t)
	host := startRegistry(t, port, "")
	build := host + "/build"
	seedMerged(t, build, "1.2.3")
	seedMerged(t, build, "1.2.4")
	digest := func(ref string) string {
		d := headDigest(t, ref)
		if d == "" {
			t.Fatalf("%s is missing", ref)
		}
		return d
	}
	// each trial is two CLI releases started together; the race itself is also exercised in
	// process, many more times, by internal/promote's TestConcurrentReleasesEndOnTheGreaterVersion
	const trials = 10
	for i := 0; i < trials; i++ {
		project := fmt.Sprintf("race%02d", i)
		var wg sync.WaitGroup
		results := make([]result, 2)
		for j, v := range []string{"1.2.3", "1.2.4"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[j] = daggerCall(t, 20*time.Minute, nil, "--build-registry="+build, "--release-registry="+host+"/rel",
					"--project="+project, fmt.Sprintf("--registry-tunnel=tcp://localhost:%d", port),
					"with-latest", "--tag-type-override=annotated", "release", "--ref="+v, "--tag="+v, "--only=release")
			}()
		}
		wg.Wait()
		for j, r := range results {
			if r.Err != nil {
				t.Fatalf("trial %d: release %d failed: %v\n%s", i, j, r.Err, tail(r.Stderr, 30))
			}
		}
		for _, target := range defaultTargets {
			repo := fmt.Sprintf("%s/rel/%s-%s", host, project, target)
			if got, want := digest(repo+":latest"), digest(repo+":1.2.4"); got != want {
				t.Errorf("trial %d: latest of %s is %s, want 1.2.4's %s", i, repo, got, want)
			}
		}
	}
}
