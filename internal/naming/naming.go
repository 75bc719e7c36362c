// Package naming holds how images are named in the registries: per-platform tags and where they
// are pushed, tag slugs of branch names, and release repositories. Pure string rules, no I/O;
// references are parsed by internal/imageref.
package naming

import (
	"strings"

	"shipyard/internal/imageref"
)

// DefaultPlatformTag is the seed's per-platform tag form: 1.0.0-amd64, 1.0.0-arm64, 1.0.0-armv7.
const DefaultPlatformTag = "{tag}-{arch}"

// Arch is the short platform name used in tags: linux/amd64 -> amd64, linux/arm/v7 -> armv7.
func Arch(platform string) string {
	parts := strings.Split(platform, "/")
	if len(parts) < 2 {
		return platform
	}
	return strings.Join(parts[1:], "")
}

// PlatformTag fills a per-platform tag form: {tag} and {arch} are replaced.
func PlatformTag(form, tag, platform string) string {
	if form == "" {
		form = DefaultPlatformTag
	}
	return strings.NewReplacer("{tag}", tag, "{arch}", Arch(platform)).Replace(form)
}

// PlatformRef is where the image of ref (a bake tag) for platform is pushed: ref's repository,
// tagged by form filled with ref's tag (imageref.DefaultTag when ref names none).
func PlatformRef(ref, form, platform string) (string, error) {
	r, err := imageref.ParseTagged(ref)
	if err != nil {
		return "", err
	}
	return r.WithTag(PlatformTag(form, r.TagOrDefault(), platform)).String(), nil
}

// Slug makes a branch name usable as an image tag, like GitLab's CI_COMMIT_REF_SLUG:
// lower case, anything but a-z and 0-9 becomes "-", trimmed, at most 63 characters.
func Slug(ref string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(ref) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

// ReleaseRepo is where a target is released: <release-registry>/<project>-<target>.
func ReleaseRepo(registry, project, target string) string {
	return strings.TrimSuffix(registry, "/") + "/" + project + "-" + target
}
