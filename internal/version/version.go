// Package version parses release tags into semantic versions and orders them.
//
// Accepted tag forms (checked strictly, nothing is coerced):
//
//	1.2.3          plain semantic version
//	v1.2.3         one leading lower-case "v" is allowed and dropped from Canonical
//	1.2.3-rc.1     semantic-version pre-release
//	1.2.3+build    semantic-version build metadata (ignored when ordering)
//	1.8.7beta2     "glued" pre-release: see below
//
// The glued form is the lightweight-tag style used by this project before it
// adopted semantic versioning: a single alphanumeric identifier that starts
// with a letter, written directly after the patch number without a dash
// ("1.8.7alpha", "1.8.7beta2", "1.8.7rc1"). It is read deliberately as the
// pre-release of the same version, exactly as if the dash had been written:
// "1.8.7beta2" means "1.8.7-beta2", so it sorts before "1.8.7" and is never
// stable. Because the whole suffix is one identifier, glued pre-releases order
// by ASCII like any semver alphanumeric identifier ("rc10" < "rc2"); write
// "1.8.7-rc.10" when numeric ordering of candidates matters.
//
// Everything else is rejected: empty strings, missing segments ("1.2"),
// words ("latest"), surrounding spaces, leading zeros ("01.2.3"), an upper-case
// "V" prefix, and any version longer than semver.MaxVersionLen.
package version

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// AcceptedForms lists, for error messages and documentation, the tag forms Parse accepts.
const AcceptedForms = "1.2.3, v1.2.3, 1.2.3-rc.1, 1.2.3+build, or the glued pre-release 1.2.3rc1"

// ErrInvalid is wrapped by every Parse error so callers can tell "not a version tag" apart with errors.Is.
var ErrInvalid = errors.New("not a version tag")

// Version is a parsed release tag that remembers the tag it was parsed from.
type Version struct {
	tag string
	sv  *semver.Version
}

// Parse reads tag as a release version in one of the AcceptedForms, or returns an error wrapping ErrInvalid.
func Parse(tag string) (*Version, error) {
	sv, err := semver.StrictNewVersion(normalize(tag))
	if err != nil {
		return nil, fmt.Errorf("%w: %q (%v); use one of the accepted forms: %s", ErrInvalid, tag, err, AcceptedForms)
	}
	return &Version{tag: tag, sv: sv}, nil
}

// normalize drops one leading "v" and rewrites a glued pre-release
// ("1.8.7rc1") to its dashed semver form ("1.8.7-rc1"); anything else is
// returned unchanged for the strict parser to judge.
func normalize(tag string) string {
	s := strings.TrimPrefix(tag, "v")
	core, build, hasBuild := strings.Cut(s, "+")
	if strings.Contains(core, "-") {
		return s
	}
	parts := strings.SplitN(core, ".", 3)
	if len(parts) != 3 {
		return s
	}
	patch := parts[2]
	digits := 0
	for digits < len(patch) && isDigit(patch[digits]) {
		digits++
	}
	if digits == 0 || digits == len(patch) || !isLetter(patch[digits]) || !isAlnum(patch[digits:]) {
		return s
	}
	out := parts[0] + "." + parts[1] + "." + patch[:digits] + "-" + patch[digits:]
	if hasBuild {
		out += "+" + build
	}
	return out
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && !isLetter(s[i]) {
			return false
		}
	}
	return true
}

// String returns the tag exactly as it was given to Parse.
func (v *Version) String() string { return v.tag }

// Canonical returns the semantic-version spelling: no "v" prefix, pre-release after a dash, build metadata kept.
func (v *Version) Canonical() string { return v.sv.String() }

// Prerelease reports whether the version carries a pre-release part ("1.2.3-rc.1", "1.8.7beta2").
func (v *Version) Prerelease() bool { return v.sv.Prerelease() != "" }

// IsStable reports whether the version is a release, that is not a pre-release.
func (v *Version) IsStable() bool { return !v.Prerelease() }

// Compare returns -1, 0 or +1 as v sorts before, equal to or after o by semver precedence; build metadata is ignored and a nil Version sorts before every version.
func (v *Version) Compare(o *Version) int {
	switch {
	case v == nil && o == nil:
		return 0
	case v == nil:
		return -1
	case o == nil:
		return 1
	}
	return v.sv.Compare(o.sv)
}

// GreaterThan reports whether v sorts strictly after o.
func (v *Version) GreaterThan(o *Version) bool { return v.Compare(o) > 0 }

// Valid reports whether tag is a version tag, that is whether Parse accepts it
// ("1.2.3", "1.8.7beta2"; not "latest", "sha-0123abc", "edge").
func Valid(tag string) bool {
	_, err := Parse(tag)
	return err == nil
}

// Greatest returns the tag that sorts last among the version tags in tags, by
// Compare; tags that are not versions are ignored, and "" is returned when no
// tag is a version. Tags of equal precedence ("1.2.3", "v1.2.3",
// "1.2.3+build") are told apart by their spelling, the greatest string
// winning, so that the answer does not depend on the order of tags.
func Greatest(tags ...string) string {
	var best *Version
	for _, t := range tags {
		v, err := Parse(t)
		if err != nil {
			continue
		}
		if c := v.Compare(best); c > 0 || (c == 0 && v.tag > best.tag) {
			best = v
		}
	}
	if best == nil {
		return ""
	}
	return best.tag
}
