// Package promote releases already-built multi-platform images: it copies
// them by digest from the build registry to the release repositories under
// the version tag, then moves `latest` on all of them or on none, guarding
// against concurrent releases. It works on registries only (no Dagger).
package promote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"shipyard/internal/imageref"
	"shipyard/internal/registry"
	"shipyard/internal/retry"
	"shipyard/internal/version"
)

// Image is one image of the release.
type Image struct {
	// Name is the bake target, for messages.
	Name string
	// Source is the merged index in the build registry, by digest (host/repo@sha256:…).
	Source string
	// Dest is the release repository, without tag (host/repo).
	Dest string
}

// Decider says whether latest should move to the version being released,
// given current: the version tag latest points at now ("" when latest is not
// set; when latest points at something no version tag matches, its digest,
// which is not a version).
type Decider func(ctx context.Context, current string) (move bool, reason string, err error)

// Options describes one release.
type Options struct {
	// Version is the version tag being released, e.g. "1.2.3".
	Version string
	// Images are the images released together.
	Images []Image
	// Decide is the latest-tag policy.
	Decide Decider
	// DryRun logs the plan and the decision without pushing anything.
	DryRun bool
	// Log receives one human line per step; nil discards them.
	Log func(string)
	// Settle is how long to wait after moving latest before reading it back
	// to catch a concurrent release; 0 means DefaultSettle.
	Settle time.Duration
	// AfterCopy, when set, runs once every image is copied and before latest
	// is decided (copying and verifying signatures, say); its failure fails
	// the release with latest untouched on every image.
	AfterCopy func(ctx context.Context, released []Released) error
	// Overwrite lets the release replace a version already released with other
	// content (a repair). Without it a released version is immutable: the
	// release stops before copying anything, naming what is there.
	Overwrite bool
}

// Released is one image pushed under the version tag.
type Released struct {
	// Name is the bake target.
	Name string
	// Ref is dest:version.
	Ref string
	// Digest is the index digest, the same as the source's.
	Digest string
	// Source is where the image was copied from.
	Source string
}

// Result is what a release did.
type Result struct {
	// Released lists the images pushed under the version tag (empty in a dry run).
	Released []Released
	// LatestMoved is true when this release pointed latest at its version.
	LatestMoved bool
	// Reasons are the latest decisions taken, one per (re)decision.
	Reasons []string
}

// Tunables of the latest guard.
const (
	// DefaultSettle is the default wait before reading latest back.
	DefaultSettle = 2 * time.Second
	// maxDecisions bounds how often latest may change under us before we give up.
	maxDecisions = 5
	// verifyRounds is how many settle-and-check rounds run after moving latest
	// (more when a round had to correct something).
	verifyRounds = 2
	// maxVerifyRounds bounds the corrections.
	maxVerifyRounds = 6
	// latestTag is the moving tag this package manages.
	latestTag = "latest"
)

// Errors callers can distinguish with errors.Is.
var (
	// ErrInvalidOptions means the release description is incomplete or malformed.
	ErrInvalidOptions = errors.New("invalid release options")
	// ErrLatestUnstable means latest kept changing while we tried to decide.
	ErrLatestUnstable = errors.New("latest keeps changing under this release")
	// ErrAlreadyReleased means the version exists in a release repository with other content.
	ErrAlreadyReleased = errors.New("version already released with other content")
	// ErrOtherCommit means a merged index in the build registry was made from another commit
	// than the one being released.
	ErrOtherCommit = errors.New("the merged index comes from another commit")
)

// CheckRevision compares the commit an index in the build registry was merged from (got, its
// revision annotation) with the commit being released (want): they must be the same, so that
// a release ships exactly what the manifests stage of its own pipeline merged, never what a
// concurrent or later pipeline of the same ref put under the tag. When either is unknown
// nothing can be compared and note says so.
func CheckRevision(name, ref, got, want string) (note string, err error) {
	switch {
	case want == "":
		return fmt.Sprintf("release %s: the commit being released is unknown, so %s is not checked against it (pass with-gitlab --commit-sha)", name, ref), nil
	case got == "":
		return fmt.Sprintf("release %s: %s has no revision annotation, so it is not checked against commit %s", name, ref, want), nil
	case got != want:
		return "", fmt.Errorf("%w: release %s: %s was merged from commit %s, and this release is of commit %s (another pipeline of the same ref replaced it); re-run this pipeline's build and manifests stages, then the release",
			ErrOtherCommit, name, ref, got, want)
	}
	return "", nil
}

// Registry is what a release reads and writes in the registries;
// *registry.Client is one. Digest reports a missing reference with an error
// wrapping registry.ErrNotFound.
type Registry interface {
	// Digest returns the digest of the manifest or index behind ref.
	Digest(ctx context.Context, ref string) (string, error)
	// Copy copies src to dst by digest and returns the digest.
	Copy(ctx context.Context, src, dst string) (string, error)
	// Tag points tag, in src's repository, at the manifest behind src.
	Tag(ctx context.Context, src, tag string) error
	// VersionBehind finds the version tag of repo that tag points at.
	VersionBehind(ctx context.Context, repo, tag string) (registry.Found, error)
}

// Run performs the release described by opts with c.
//
// Every image is first copied to Dest:Version by digest; if any copy fails,
// Run stops and latest is untouched everywhere. Then it reads the version
// behind latest on every image and calls Decide once with the greatest, so
// latest moves on all images or on none. Before moving it re-reads latest and
// decides again if a concurrent release changed it; after moving it waits
// opts.Settle and corrects latest if a concurrent, older release overwrote it.
func Run(ctx context.Context, c Registry, opts Options) (Result, error) {
	if err := opts.check(); err != nil {
		return Result{}, err
	}
	r := &run{c: c, opts: opts, log: opts.Log}
	if r.log == nil {
		r.log = func(string) {}
	}
	if r.opts.Settle <= 0 {
		r.opts.Settle = DefaultSettle
	}
	r.ours, _ = version.Parse(opts.Version)
	if opts.DryRun {
		return r.dryRun(ctx)
	}
	return r.release(ctx)
}

// check validates the options.
func (o Options) check() error {
	var problems []string
	if !version.Valid(o.Version) {
		problems = append(problems, fmt.Sprintf("version %q is not a version tag (%s)", o.Version, version.AcceptedForms))
	}
	if len(o.Images) == 0 {
		problems = append(problems, "no images to release")
	}
	if o.Decide == nil {
		problems = append(problems, "no latest decider")
	}
	for _, img := range o.Images {
		// a dry run (a plan) may name the index by tag: it may not have been made yet
		source := imageref.ParsePinned
		if o.DryRun {
			source = imageref.Parse
		}
		if _, err := source(img.Source); err != nil {
			problems = append(problems, fmt.Sprintf("image %s: source: %v", img.Name, err))
		}
		if _, err := imageref.ParseRepo(img.Dest); err != nil {
			problems = append(problems, fmt.Sprintf("image %s: destination: %v", img.Name, err))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, strings.Join(problems, "; "))
	}
	return nil
}

// run is the state of one release.
type run struct {
	c    Registry
	opts Options
	log  func(string)
	ours *version.Version
	// digests[i] is the digest released for opts.Images[i].
	digests []string
	res     Result
}

func (r *run) logf(format string, args ...any) { r.log(fmt.Sprintf(format, args...)) }

func (r *run) ref(i int) string { return r.opts.Images[i].Dest + ":" + r.opts.Version }

// dryRun logs what a release would do; it only reads.
func (r *run) dryRun(ctx context.Context) (Result, error) {
	r.logf("dry run: nothing will be pushed")
	for i, img := range r.opts.Images {
		d, err := r.c.Digest(ctx, img.Source)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			r.logf("would release %s from %s once the manifests stage has made it", r.ref(i), img.Source)
		case err != nil:
			return r.res, fmt.Errorf("dry run of %s: %w", img.Name, err)
		default:
			r.logf("would release %s %s from %s", r.ref(i), d, img.Source)
		}
		r.digests = append(r.digests, d)
	}
	have, err := r.existing(ctx)
	if err != nil {
		return r.res, err
	}
	if err := r.refuseOverwrites(have, r.digests); err != nil {
		return r.res, err
	}
	_, move, err := r.readAndDecide(ctx)
	if err != nil {
		return r.res, err
	}
	if move {
		r.logf("would move latest to %s on %s", r.opts.Version, r.dests())
	} else {
		r.logf("would leave latest where it is")
	}
	return r.res, nil
}

func (r *run) dests() string {
	var d []string
	for _, img := range r.opts.Images {
		d = append(d, img.Dest)
	}
	return strings.Join(d, ", ")
}

// existing reads what each destination already holds under the version: digests[i] is the
// digest of Images[i]'s dest:version, "" when there is none.
func (r *run) existing(ctx context.Context) ([]string, error) {
	out := make([]string, len(r.opts.Images))
	for i, img := range r.opts.Images {
		d, err := r.c.Digest(ctx, r.ref(i))
		switch {
		case errors.Is(err, registry.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("releasing %s: reading %s: %w; nothing was copied", img.Name, r.ref(i), err)
		default:
			out[i] = d
		}
	}
	return out, nil
}

// refuseOverwrites fails when a destination holds the version with other content than its
// source (source digests srcs[i]; "" when not known), unless Overwrite is set.
func (r *run) refuseOverwrites(have, srcs []string) error {
	var clashes []string
	for i, img := range r.opts.Images {
		if have[i] == "" || srcs[i] == "" || have[i] == srcs[i] {
			continue
		}
		clashes = append(clashes, fmt.Sprintf("%s holds %s, this release's %s is %s", r.ref(i), have[i], img.Name, srcs[i]))
	}
	if len(clashes) == 0 {
		return nil
	}
	if r.opts.Overwrite {
		for _, c := range clashes {
			r.logf("overwriting a released version (asked for): %s", c)
		}
		return nil
	}
	return fmt.Errorf("%w: %s; a released version is never replaced: release a new version, or pass --overwrite to repair this one (nothing was copied, latest is untouched)",
		ErrAlreadyReleased, strings.Join(clashes, "; "))
}

// sourceDigest is the digest a pinned source names (host/repo@sha256:…), "" for a tag.
func sourceDigest(src string) string {
	r, _ := imageref.Parse(src) // checked by validate
	return r.Digest
}

// release pushes the version everywhere, then handles latest.
func (r *run) release(ctx context.Context) (Result, error) {
	have, err := r.existing(ctx)
	if err != nil {
		return r.res, err
	}
	srcs := make([]string, len(r.opts.Images))
	for i, img := range r.opts.Images {
		srcs[i] = sourceDigest(img.Source)
	}
	if err := r.refuseOverwrites(have, srcs); err != nil {
		return r.res, err
	}
	for i, img := range r.opts.Images {
		if have[i] != "" && have[i] == srcs[i] {
			r.digests = append(r.digests, have[i])
			r.res.Released = append(r.res.Released, Released{Name: img.Name, Ref: r.ref(i), Digest: have[i], Source: img.Source})
			r.logf("%s is already released as %s: nothing to copy", r.ref(i), have[i])
			continue
		}
		d, err := r.c.Copy(ctx, img.Source, r.ref(i))
		if err != nil {
			return r.res, fmt.Errorf("releasing %s: %w; latest was not touched on any image, re-run the release once this is fixed (copies already done are skipped)", img.Name, err)
		}
		r.digests = append(r.digests, d)
		r.res.Released = append(r.res.Released, Released{Name: img.Name, Ref: r.ref(i), Digest: d, Source: img.Source})
		r.logf("released %s %s from %s", r.ref(i), d, img.Source)
	}
	if r.opts.AfterCopy != nil {
		if err := r.opts.AfterCopy(ctx, r.res.Released); err != nil {
			return r.res, fmt.Errorf("%w; latest was not touched on any image", err)
		}
	}

	state, move, err := r.readAndDecide(ctx)
	if err != nil {
		return r.res, err
	}
	// Re-check immediately before moving: a concurrent release may have
	// moved latest while we were deciding; then its version must be taken
	// into account.
	var checked time.Time
	for n := 1; move; n++ {
		checked = now()
		changed, err := r.latestChanged(ctx, state)
		if err != nil {
			return r.res, err
		}
		if changed == "" {
			break
		}
		if n == maxDecisions {
			return r.res, fmt.Errorf("%w: it changed %d times on %s while deciding; another release is probably running, re-run this one when it is done (version %s is pushed, latest is untouched)", ErrLatestUnstable, n, changed, r.opts.Version)
		}
		r.logf("latest changed on %s since the decision (concurrent release?); deciding again", changed)
		if state, move, err = r.readAndDecide(ctx); err != nil {
			return r.res, err
		}
	}
	if !move {
		return r.res, nil
	}
	if err := r.moveLatest(ctx, state); err != nil {
		return r.res, err
	}
	r.res.LatestMoved = true
	// A concurrent older release's write lands at most about as late after its own re-check as
	// ours did after ours, on a registry and a machine under the same load: the wait before
	// reading latest back covers that span, with a margin, when it is longer than Settle.
	if span := settleFactor * now().Sub(checked); span > r.opts.Settle {
		r.logf("latest: the re-check and move took %s here; reading latest back after %s each round", span/settleFactor, span.Round(time.Millisecond))
		r.opts.Settle = span
	}
	return r.res, r.verify(ctx)
}

// readAndDecide reads latest on every image and asks the decider.
func (r *run) readAndDecide(ctx context.Context) ([]registry.Found, bool, error) {
	state, err := r.readLatest(ctx)
	if err != nil {
		return nil, false, err
	}
	move, err := r.decide(ctx, state)
	return state, move, err
}

// readLatest reads what latest points at on every image.
func (r *run) readLatest(ctx context.Context) ([]registry.Found, error) {
	state := make([]registry.Found, len(r.opts.Images))
	for i, img := range r.opts.Images {
		f, err := r.c.VersionBehind(ctx, img.Dest, latestTag)
		if err != nil {
			return nil, fmt.Errorf("reading latest of %s: %w (version %s is pushed, latest is untouched)", img.Name, err, r.opts.Version)
		}
		state[i] = f
	}
	return state, nil
}

// current summarises latest across images (state, with ours the digests this release pushed,
// image by image) for the decider: a digest when latest points at something that is not a
// version (so that the policy can refuse to guess), else the greatest version by
// version.Greatest, else "". Images whose latest already is this release (an interrupted earlier
// run) are left out, so that re-running completes the move. Versions of equal precedence
// ("1.2.3", "v1.2.3", "1.2.3+build") are told apart as version.Greatest does, by spelling, so
// the answer does not depend on the order of the images.
func current(state []registry.Found, ours []string) string {
	var versions []string
	unknown := ""
	for i, f := range state {
		switch {
		case f.Digest == "" || f.Digest == ours[i]:
		case version.Valid(f.Version):
			versions = append(versions, f.Version)
		default:
			unknown = f.Digest
		}
	}
	if unknown != "" {
		return unknown
	}
	return version.Greatest(versions...)
}

// decide asks the decider and records its reason.
func (r *run) decide(ctx context.Context, state []registry.Found) (bool, error) {
	if r.allOurs(state) {
		reason := fmt.Sprintf("latest already points at %s on every image", r.opts.Version)
		r.res.Reasons = append(r.res.Reasons, reason)
		r.logf("latest: %s", reason)
		return false, nil
	}
	cur := current(state, r.digests)
	move, reason, err := r.opts.Decide(ctx, cur)
	if err != nil {
		return false, fmt.Errorf("deciding whether latest moves from %q to %s: %w (version %s is pushed, latest is untouched)", cur, r.opts.Version, err, r.opts.Version)
	}
	r.res.Reasons = append(r.res.Reasons, reason)
	verb := "keep"
	if move {
		verb = "move"
	}
	r.logf("latest: %s (%s)", verb, reason)
	return move, nil
}

func (r *run) allOurs(state []registry.Found) bool {
	for i, f := range state {
		if r.digests[i] == "" || f.Digest != r.digests[i] {
			return false
		}
	}
	return true
}

// latestChanged re-reads latest's digest on every image and returns the
// first image whose latest differs from state, or "".
func (r *run) latestChanged(ctx context.Context, state []registry.Found) (string, error) {
	for i, img := range r.opts.Images {
		d, err := r.latestDigest(ctx, i)
		if err != nil {
			return "", err
		}
		if d != state[i].Digest {
			return img.Dest, nil
		}
	}
	return "", nil
}

// latestDigest returns the digest behind latest on image i, "" if unset.
func (r *run) latestDigest(ctx context.Context, i int) (string, error) {
	d, err := r.c.Digest(ctx, r.opts.Images[i].Dest+":"+latestTag)
	if errors.Is(err, registry.ErrNotFound) {
		return "", nil
	}
	return d, err
}

// moveLatest points latest at this release on every image that is not
// there yet. If one fails, the images already moved are put back where
// they were (when latest existed), so latest stays consistent.
func (r *run) moveLatest(ctx context.Context, state []registry.Found) error {
	var moved []int
	for i, img := range r.opts.Images {
		if state[i].Digest == r.digests[i] {
			continue
		}
		if err := r.c.Tag(ctx, img.Dest+"@"+r.digests[i], latestTag); err != nil {
			return fmt.Errorf("moving latest of %s to %s: %w%s", img.Name, r.opts.Version, err, r.rollback(ctx, state, moved))
		}
		moved = append(moved, i)
		r.logf("moved %s:latest to %s %s", img.Dest, r.opts.Version, r.digests[i])
	}
	return nil
}

// rollback puts latest back on the given images and describes the outcome
// for the error message.
func (r *run) rollback(ctx context.Context, state []registry.Found, moved []int) string {
	if len(moved) == 0 {
		return "; latest was not moved on any image"
	}
	var back, stuck []string
	for _, i := range moved {
		img := r.opts.Images[i]
		if state[i].Digest != "" && r.c.Tag(ctx, img.Dest+"@"+state[i].Digest, latestTag) == nil {
			back = append(back, img.Dest)
			continue
		}
		stuck = append(stuck, img.Dest)
	}
	msg := ""
	if len(back) > 0 {
		msg += "; latest was put back on " + strings.Join(back, ", ")
	}
	if len(stuck) > 0 {
		msg += fmt.Sprintf("; latest still points at %s on %s: re-run the release to finish moving it", r.opts.Version, strings.Join(stuck, ", "))
	}
	return msg
}

// verify guards against the race the pre-move re-check cannot close.
//
// Two releases A (older version) and B (newer) may both decide "move" and
// both pass the re-check before either writes; their tag writes then
// interleave and latest may end on A's older version on some images. Only
// the newer release can tell (the older one sees a newer version and leaves
// it), so every release, after moving, waits Settle for any concurrent write
// to land and reads latest back: if it points at an older version than ours,
// it is corrected. The older release never writes after its own move phase
// except to correct something even older, so corrections converge on the
// greatest version. The residual window is a write delayed by more than the
// settle rounds, which grow with the time our own re-check and move took (a loaded machine or
// registry slows both releases alike); a newer release never goes backwards either way.
func (r *run) verify(ctx context.Context) error {
	rounds := verifyRounds
	for round := 1; round <= rounds; round++ {
		if err := sleep(ctx, r.opts.Settle); err != nil {
			return fmt.Errorf("verifying latest: %w", err)
		}
		corrected := false
		for i, img := range r.opts.Images {
			f, err := r.c.VersionBehind(ctx, img.Dest, latestTag)
			if err != nil {
				return fmt.Errorf("verifying latest of %s: %w", img.Name, err)
			}
			if f.Digest == r.digests[i] {
				continue
			}
			v, err := version.Parse(f.Version)
			switch {
			case err != nil:
				r.logf("warning: %s:latest now points at %s, which no version tag matches; leaving it", img.Dest, f.Digest)
			case v.Compare(r.ours) >= 0:
				r.logf("%s:latest is now at %s, not older than %s (concurrent release); leaving it", img.Dest, f.Version, r.opts.Version)
			default:
				r.logf("%s:latest went back to %s after we moved it (concurrent older release); moving it to %s again", img.Dest, f.Version, r.opts.Version)
				if err := r.c.Tag(ctx, img.Dest+"@"+r.digests[i], latestTag); err != nil {
					return fmt.Errorf("correcting latest of %s to %s: %w", img.Name, r.opts.Version, err)
				}
				corrected = true
			}
		}
		if corrected && rounds < maxVerifyRounds {
			rounds++
		}
	}
	return nil
}

var (
	sleep = retry.Sleep
	now   = time.Now
)

// settleFactor is the margin of the wait after moving latest over the time our own re-check and
// move took (verify).
const settleFactor = 3
