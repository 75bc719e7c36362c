package promote_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/faultproxy"
	"shipyard/internal/promote"
	"shipyard/internal/registry"
	"shipyard/internal/registry/registrytest"
	"shipyard/internal/version"
)

// The registry client is what releases run with.
var _ promote.Registry = (*registry.Client)(nil)

var targets = []string{"django", "vue"}

func newClient() *registry.Client {
	return registry.New(registry.WithInsecure("127.0.0.1:*"), registry.WithRetry(3, time.Millisecond))
}

// build produces one version of every target in the build registry, the way
// the manifests stage does: per-platform images merged into an annotated
// index. It returns the images to release into destHost/<prefix><target>.
func build(t *testing.T, b *registrytest.Server, ver, destHost, prefix string) []promote.Image {
	t.Helper()
	c := newClient()
	var images []promote.Image
	for _, target := range targets {
		var srcs []string
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			arch := p[strings.Index(p, "/")+1:]
			srcs = append(srcs, b.PushImage(t, b.Host+"/build/"+target+"-"+arch, registrytest.Image(t, p)))
		}
		d, err := c.MergeIndex(context.Background(), b.Host+"/build/"+target+":"+ver, srcs,
			map[string]string{registry.AnnotationVersion: ver, registry.AnnotationRevision: "rev-" + ver})
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, promote.Image{
			Name:   target,
			Source: b.Host + "/build/" + target + "@" + d,
			Dest:   destHost + "/" + prefix + target,
		})
	}
	return images
}

// decider is a simple latest policy, ordered by internal/version, that records what it was asked:
// move for a stable version greater than current, or when latest is unset.
type decider struct {
	mu    sync.Mutex
	asked []string
}

func (d *decider) For(ver string) promote.Decider {
	return func(_ context.Context, current string) (bool, string, error) {
		d.mu.Lock()
		d.asked = append(d.asked, current)
		d.mu.Unlock()
		v, err := version.Parse(ver)
		if err != nil {
			return false, "", err
		}
		if v.Prerelease() {
			return false, ver + " is a pre-release", nil
		}
		if current == "" {
			return true, "latest is not set", nil
		}
		cur, err := version.Parse(current)
		if err != nil {
			return false, fmt.Sprintf("current %q is not a version", current), nil
		}
		if v.GreaterThan(cur) {
			return true, ver + " is newer than " + current, nil
		}
		return false, ver + " is not newer than " + current, nil
	}
}

// latest returns the digest behind latest on every image ("" when unset).
func latest(t *testing.T, c *registry.Client, images []promote.Image) []string {
	t.Helper()
	var out []string
	for _, img := range images {
		d, err := c.Digest(context.Background(), img.Dest+":latest")
		if errors.Is(err, registry.ErrNotFound) {
			d = ""
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func digests(rs []promote.Released) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Digest)
	}
	return out
}

func run(t *testing.T, c *registry.Client, ver string, images []promote.Image, d *decider, log *[]string) promote.Result {
	t.Helper()
	res, err := promote.Run(context.Background(), c, promote.Options{
		Version: ver, Images: images, Decide: d.For(ver), Settle: 10 * time.Millisecond,
		Log: func(s string) {
			if log != nil {
				*log = append(*log, s)
			}
		},
	})
	if err != nil {
		t.Fatalf("release %s: %v", ver, err)
	}
	return res
}

func TestReleaseSequenceKeepsLatestOnTheGreatestStable(t *testing.T) {
	b := registrytest.Start(t, "", "")
	rel := registrytest.Start(t, "", "")
	c := newClient()
	d := &decider{}

	type step struct {
		Version     string
		Current     string // what the decider was asked
		LatestMoved bool
	}
	want := []step{
		{"1.0.0", "", true},
		{"1.1.0-rc.1", "1.0.0", false},
		{"1.0.1", "1.0.0", true},
		{"1.1.0beta2", "1.0.1", false}, // the glued pre-release is a version, and a pre-release
		{"0.9.5", "1.0.1", false},
	}
	var got []step
	released := map[string][]string{}
	var images []promote.Image
	for _, w := range want {
		images = build(t, b, w.Version, rel.Host, "app/")
		var log []string
		res := run(t, c, w.Version, images, d, &log)
		got = append(got, step{w.Version, d.asked[len(d.asked)-1], res.LatestMoved})
		released[w.Version] = digests(res.Released)

		for i, r := range res.Released {
			wantLine := fmt.Sprintf("released %s:%s %s from %s", images[i].Dest, w.Version, r.Digest, images[i].Source)
			if log[i] != wantLine {
				t.Errorf("log line %d = %q, want %q", i, log[i], wantLine)
			}
			if want := images[i].Source[strings.Index(images[i].Source, "@")+1:]; r.Digest != want {
				t.Errorf("%s released as %s, want the source digest %s", r.Ref, r.Digest, want)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("releases (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(released["1.0.1"], latest(t, c, images)); diff != "" {
		t.Errorf("latest digests (-1.0.1 +got):\n%s", diff)
	}
	// Every version stays available under its own tag.
	for ver, ds := range released {
		for i, img := range images {
			got, err := c.Digest(context.Background(), img.Dest+":"+ver)
			if err != nil || got != ds[i] {
				t.Errorf("%s:%s = %s, %v; want %s", img.Dest, ver, got, err, ds[i])
			}
		}
	}
}

// releasedBehindProxy releases 1.0.0 into a release registry reached
// through a fault proxy (with no rules yet).
func releasedBehindProxy(t *testing.T, d *decider) (b *registrytest.Server, p *faultproxy.Proxy, c *registry.Client, first promote.Result) {
	t.Helper()
	b = registrytest.Start(t, "", "")
	rel := registrytest.Start(t, "", "")
	p = faultproxy.New(rel.URL)
	p.Start()
	t.Cleanup(p.Close)
	c = newClient()
	first = run(t, c, "1.0.0", build(t, b, "1.0.0", p.Host(), "app/"), d, nil)
	return b, p, c, first
}

func TestFailedCopyLeavesLatestUntouchedEverywhere(t *testing.T) {
	d := &decider{}
	b, p, c, first := releasedBehindProxy(t, d)

	// The second image (vue) cannot be written, even after retries.
	p.SetRules(faultproxy.FailAll("PUT", `^/v2/app/vue/manifests/`, 503))
	images := build(t, b, "1.0.1", p.Host(), "app/")
	res, err := promote.Run(context.Background(), c, promote.Options{
		Version: "1.0.1", Images: images, Decide: d.For("1.0.1"), Settle: time.Millisecond,
	})
	if err == nil {
		t.Fatal("release succeeded, want an error")
	}
	for _, sub := range []string{"releasing vue", "latest was not touched", "giving up after 4 attempts"} {
		if !strings.Contains(err.Error(), sub) {
			t.Errorf("error %q does not mention %q", err, sub)
		}
	}
	if p.Injected() == 0 {
		t.Error("no fault was injected")
	}
	if diff := cmp.Diff([]string{"django"}, names(res.Released)); diff != "" {
		t.Errorf("released before the failure (-want +got):\n%s", diff)
	}
	if res.LatestMoved || len(d.asked) != 1 {
		t.Errorf("latest was considered after a failed copy: moved=%v, decider asked %q", res.LatestMoved, d.asked)
	}
	if diff := cmp.Diff(digests(first.Released), latest(t, c, images)); diff != "" {
		t.Errorf("latest (-1.0.0 +got):\n%s", diff)
	}
}

func names(rs []promote.Released) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestTransient5xxDuringCopyIsRetried(t *testing.T) {
	b := registrytest.Start(t, "", "")
	rel := registrytest.Start(t, "", "")
	p := faultproxy.New(rel.URL, faultproxy.Fail("PUT", `/manifests/`, 503, 1, 2), faultproxy.Reset("PATCH", `/blobs/uploads/`, 2, 2))
	p.Start()
	t.Cleanup(p.Close)
	c := newClient()
	images := build(t, b, "1.0.0", p.Host(), "app/")
	res := run(t, c, "1.0.0", images, &decider{}, nil)
	if p.Injected() != 3 {
		t.Errorf("%d faults injected, want 3", p.Injected())
	}
	if !res.LatestMoved {
		t.Error("latest did not move")
	}
	if diff := cmp.Diff(digests(res.Released), latest(t, c, images)); diff != "" {
		t.Errorf("latest (-released +got):\n%s", diff)
	}
}

func TestFailedLatestMoveIsRolledBack(t *testing.T) {
	b, p, c, first := releasedBehindProxy(t, &decider{})

	p.SetRules(faultproxy.FailAll("PUT", `^/v2/app/vue/manifests/latest$`, 403))
	images := build(t, b, "1.0.1", p.Host(), "app/")
	_, err := promote.Run(context.Background(), c, promote.Options{
		Version: "1.0.1", Images: images, Decide: (&decider{}).For("1.0.1"), Settle: time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), "latest was put back on "+images[0].Dest) {
		t.Fatalf("err = %v, want a failed move rolled back on django", err)
	}
	if diff := cmp.Diff(digests(first.Released), latest(t, c, images)); diff != "" {
		t.Errorf("latest (-1.0.0 +got):\n%s", diff)
	}
}

func TestRerunCompletesAnInterruptedMove(t *testing.T) {
	b := registrytest.Start(t, "", "")
	rel := registrytest.Start(t, "", "")
	c := newClient()
	d := &decider{}
	run(t, c, "1.0.0", build(t, b, "1.0.0", rel.Host, "app/"), d, nil)
	images := build(t, b, "1.0.1", rel.Host, "app/")
	// As if a previous run of 1.0.1 pushed everything and moved latest on
	// django only before dying.
	for _, img := range images {
		if _, err := c.Copy(context.Background(), img.Source, img.Dest+":1.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Tag(context.Background(), images[0].Dest+":1.0.1", "latest"); err != nil {
		t.Fatal(err)
	}

	res := run(t, c, "1.0.1", images, d, nil)
	if got := d.asked[len(d.asked)-1]; got != "1.0.0" {
		t.Errorf("decider asked about %q, want 1.0.0 (the image not moved yet)", got)
	}
	if diff := cmp.Diff(digests(res.Released), latest(t, c, images)); diff != "" {
		t.Errorf("latest (-1.0.1 +got):\n%s", diff)
	}
}

func TestConcurrentReleasesEndOnTheGreaterVersion(t *testing.T) {
	b := registrytest.Start(t, "", "")
	rel := registrytest.Start(t, "", "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for trial := range 20 {
		prefix := fmt.Sprintf("t%d/", trial)
		older := build(t, b, "1.2.3", rel.Host, prefix)
		newer := build(t, b, "1.2.4", rel.Host, prefix)
		start := make(chan struct{})
		var wg sync.WaitGroup
		results := make([]promote.Result, 2)
		errs := make([]error, 2)
		for i, r := range []struct {
			ver    string
			images []promote.Image
		}{{"1.2.3", older}, {"1.2.4", newer}} {
			wg.Go(func() {
				c := newClient() // two CI jobs, two clients
				<-start
				results[i], errs[i] = promote.Run(ctx, c, promote.Options{
					Version: r.ver, Images: r.images, Decide: (&decider{}).For(r.ver), Settle: 30 * time.Millisecond,
				})
			})
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if diff := cmp.Diff(digests(results[1].Released), latest(t, newClient(), newer)); diff != "" {
			t.Errorf("trial %d: latest (-1.2.4 +got):\n%s", trial, diff)
		}
	}
}

func TestDryRunPushesNothing(t *testing.T) {
	b := registrytest.Start(t, "", "")
	rel := registrytest.Start(t, "", "")
	c := newClient()
	first := run(t, c, "1.0.0", build(t, b, "1.0.0", rel.Host, "app/"), &decider{}, nil)
	images := build(t, b, "1.0.1", rel.Host, "app/")
	writes := rel.Writes()

	var log []string
	res, err := promote.Run(context.Background(), c, promote.Options{
		Version: "1.0.1", Images: images, Decide: (&decider{}).For("1.0.1"), DryRun: true,
		Log: func(s string) { log = append(log, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	src := func(i int) string { return images[i].Source[strings.Index(images[i].Source, "@")+1:] }
	want := []string{
		"dry run: nothing will be pushed",
		fmt.Sprintf("would release %s:1.0.1 %s from %s", images[0].Dest, src(0), images[0].Source),
		fmt.Sprintf("would release %s:1.0.1 %s from %s", images[1].Dest, src(1), images[1].Source),
		"latest: move (1.0.1 is newer than 1.0.0)",
		fmt.Sprintf("would move latest to 1.0.1 on %s, %s", images[0].Dest, images[1].Dest),
	}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("dry-run log (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(promote.Result{Reasons: []string{"1.0.1 is newer than 1.0.0"}}, res); diff != "" {
		t.Errorf("dry-run result (-want +got):\n%s", diff)
	}
	if rel.Writes() != writes {
		t.Errorf("dry run wrote %d times to the release registry", rel.Writes()-writes)
	}
	if diff := cmp.Diff(digests(first.Released), latest(t, c, images)); diff != "" {
		t.Errorf("latest (-1.0.0 +got):\n%s", diff)
	}
}

func TestInvalidOptionsAreRejectedBeforeAnyRequest(t *testing.T) {
	ok := promote.Image{Name: "django", Source: "127.0.0.1:1/build/django@sha256:" + strings.Repeat("a", 64), Dest: "127.0.0.1:1/app/django"}
	keep := func(context.Context, string) (bool, string, error) { return false, "", nil }
	tests := []struct {
		name string
		opts promote.Options
		want string
	}{
		{"not a version", promote.Options{Version: "edge", Images: []promote.Image{ok}, Decide: keep}, `version "edge" is not a version tag`},
		{"no images", promote.Options{Version: "1.0.0", Decide: keep}, "no images"},
		{"no decider", promote.Options{Version: "1.0.0", Images: []promote.Image{ok}}, "no latest decider"},
		{"source by tag", promote.Options{Version: "1.0.0", Decide: keep,
			Images: []promote.Image{{Name: "vue", Source: "127.0.0.1:1/build/vue:1.0.0", Dest: ok.Dest}}}, "not pinned by digest"},
		{"dest with tag", promote.Options{Version: "1.0.0", Decide: keep,
			Images: []promote.Image{{Name: "vue", Source: ok.Source, Dest: "127.0.0.1:1/app/vue:1.0.0"}}}, "without tag or digest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient()
			_, err := promote.Run(context.Background(), c, tc.opts)
			if !errors.Is(err, promote.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalidOptions mentioning %q", err, tc.want)
			}
			if c.Requests() != 0 {
				t.Errorf("%d requests sent for invalid options", c.Requests())
			}
		})
	}
}

func TestFailedAfterCopyLeavesLatestUntouched(t *testing.T) {
	d := &decider{}
	b, p, c, first := releasedBehindProxy(t, d)
	images := build(t, b, "1.0.1", p.Host(), "app/")
	var seen []string
	res, err := promote.Run(context.Background(), c, promote.Options{
		Version: "1.0.1", Images: images, Decide: d.For("1.0.1"), Settle: time.Millisecond,
		AfterCopy: func(_ context.Context, released []promote.Released) error {
			seen = names(released)
			return errors.New("verifying vue: no signature")
		},
	})
	if err == nil || !strings.Contains(err.Error(), "verifying vue: no signature") || !strings.Contains(err.Error(), "latest was not touched") {
		t.Fatalf("err = %v, want the AfterCopy failure and that latest was not touched", err)
	}
	if diff := cmp.Diff([]string{"django", "vue"}, seen); diff != "" {
		t.Errorf("AfterCopy saw (-want +got):\n%s", diff)
	}
	if res.LatestMoved || len(d.asked) != 1 {
		t.Errorf("latest was considered after AfterCopy failed: moved=%v, decider asked %q", res.LatestMoved, d.asked)
	}
	if diff := cmp.Diff(digests(first.Released), latest(t, c, images)); diff != "" {
		t.Errorf("latest (-1.0.0 +got):\n%s", diff)
	}
}

// TestReleasedVersionsAreImmutable: releasing a version again with other content stops before
// any copy, naming what each release repository holds, and leaves latest alone; the same
// content again is a no-op; Overwrite replaces it (a repair).
func TestReleasedVersionsAreImmutable(t *testing.T) {
	b := registrytest.Start(t, "", "")
	r := registrytest.Start(t, "", "")
	c := newClient()
	d := &decider{}
	first := build(t, b, "1.0.0", r.Host, "rel/")
	run(t, c, "1.0.0", first, d, nil)
	released := func() []string {
		var out []string
		for _, img := range first {
			out = append(out, mustDigest(t, c, img.Dest+":1.0.0"))
		}
		return out
	}
	want := digests(run(t, c, "1.0.0", first, d, nil).Released)
	latestBefore := latest(t, c, first)

	second := build(t, b, "1.0.0", r.Host, "rel/")
	if second[0].Source == first[0].Source {
		t.Fatal("the second build made the same index; the test needs other content")
	}
	_, err := promote.Run(context.Background(), c, promote.Options{Version: "1.0.0", Images: second, Decide: d.For("1.0.0"), Settle: 10 * time.Millisecond})
	if !errors.Is(err, promote.ErrAlreadyReleased) {
		t.Fatalf("releasing 1.0.0 again with other content: err = %v, want ErrAlreadyReleased", err)
	}
	for i, img := range first {
		for _, part := range []string{img.Dest + ":1.0.0 holds " + want[i], "--overwrite"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("the refusal does not say %q: %v", part, err)
			}
		}
	}
	if diff := cmp.Diff(want, released()); diff != "" {
		t.Errorf("a refused release changed the released version (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(latestBefore, latest(t, c, first)); diff != "" {
		t.Errorf("a refused release moved latest (-want +got):\n%s", diff)
	}

	var log []string
	run(t, c, "1.0.0", first, d, &log)
	if !strings.Contains(strings.Join(log, "\n"), "is already released as "+want[0]+": nothing to copy") {
		t.Errorf("the same content again is not reported as a no-op:\n%s", strings.Join(log, "\n"))
	}

	res, err := promote.Run(context.Background(), c, promote.Options{Version: "1.0.0", Images: second, Decide: d.For("1.0.0"),
		Settle: 10 * time.Millisecond, Overwrite: true})
	if err != nil {
		t.Fatalf("the repair with Overwrite: %v", err)
	}
	if diff := cmp.Diff(digests(res.Released), released()); diff != "" {
		t.Errorf("Overwrite did not replace the version (-want +got):\n%s", diff)
	}
}

func mustDigest(t *testing.T, c *registry.Client, ref string) string {
	t.Helper()
	d, err := c.Digest(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCheckRevision(t *testing.T) {
	for _, tt := range []struct {
		name, got, want string
		err             error
		note            string
	}{
		{"same commit", "abc", "abc", nil, ""},
		{"another commit", "def", "abc", promote.ErrOtherCommit, ""},
		{"the index names none", "", "abc", nil, "has no revision annotation"},
		{"the release's commit unknown", "abc", "", nil, "pass with-gitlab --commit-sha"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			note, err := promote.CheckRevision("django", "reg/p/django:1.0.0", tt.got, tt.want)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				for _, part := range []string{"reg/p/django:1.0.0", "commit " + tt.got, "commit " + tt.want, "re-run"} {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("the error does not say %q: %v", part, err)
					}
				}
			}
			if (tt.note == "") != (note == "") || !strings.Contains(note, tt.note) {
				t.Errorf("note = %q, want one saying %q", note, tt.note)
			}
		})
	}
}

// slowLatest is a registry on which moving latest takes delay, as on a loaded machine: the write
// lands that long after the release's re-check read latest.
type slowLatest struct {
	*registry.Client
	delay time.Duration
}

func (s slowLatest) Tag(ctx context.Context, src, tag string) error {
	if tag == "latest" {
		time.Sleep(s.delay)
	}
	return s.Client.Tag(ctx, src, tag)
}

// The older release's write lands after the newer one's has, later than Settle rounds after it:
// the newer release still puts latest back, since it waits in proportion to how long its own
// re-check and move took.
func TestSlowOlderWriteIsCorrected(t *testing.T) {
	b := registrytest.Start(t, "", "")
	rel := registrytest.Start(t, "", "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	older := build(t, b, "1.2.3", rel.Host, "slow/")
	newer := build(t, b, "1.2.4", rel.Host, "slow/")
	start := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]promote.Result, 2)
	errs := make([]error, 2)
	logs := make([][]string, 2)
	for i, r := range []struct {
		ver    string
		images []promote.Image
		delay  time.Duration
	}{{"1.2.3", older, 400 * time.Millisecond}, {"1.2.4", newer, 150 * time.Millisecond}} {
		wg.Go(func() {
			c := slowLatest{Client: newClient(), delay: r.delay}
			<-start
			results[i], errs[i] = promote.Run(ctx, c, promote.Options{
				Version: r.ver, Images: r.images, Decide: (&decider{}).For(r.ver), Settle: 20 * time.Millisecond,
				Log: func(s string) { logs[i] = append(logs[i], s) },
			})
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(digests(results[1].Released), latest(t, newClient(), newer)); diff != "" {
		t.Errorf("latest (-1.2.4 +got):\n%s\n1.2.3 said:\n%s\n1.2.4 said:\n%s", diff, strings.Join(logs[0], "\n"), strings.Join(logs[1], "\n"))
	}
	if !slices.ContainsFunc(logs[1], func(s string) bool { return strings.Contains(s, "reading latest back after") }) {
		t.Errorf("1.2.4 did not say it waits longer than Settle:\n%s", strings.Join(logs[1], "\n"))
	}
}
