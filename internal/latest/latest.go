// Package latest decides whether a release moves the `latest` tag.
//
// The promise to users is that `latest` is the greatest stable, official
// (annotated) release: it never points at a pre-release and, under the
// default strategy, never goes backwards.
//
// Strategies:
//
//   - auto (the default, also chosen by an empty value): move only for an
//     annotated, valid, stable version that is greater than the current one,
//     or when latest is not set yet.
//   - force: move to any valid stable version, even an older one or a
//     lightweight tag, because the user asked for it explicitly (for example
//     to roll latest back). Force still refuses pre-releases and tags that are
//     not versions: no strategy breaks the "never a pre-release" promise.
//   - skip: never move.
//
// When the version currently behind latest cannot be parsed (someone pushed
// a tag that is not a version), auto keeps latest where it is: without a
// version to compare with, moving could make latest go backwards. The reason
// says so and points at force to repair it deliberately.
package latest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"shipyard/internal/tagtype"
	"shipyard/internal/version"
)

// Strategy is how a release treats the latest tag.
type Strategy string

const (
	// Auto moves latest only forward, to stable annotated versions.
	Auto Strategy = "auto"
	// Force moves latest to any valid stable version, older ones included.
	Force Strategy = "force"
	// Skip never moves latest.
	Skip Strategy = "skip"
)

// ErrBadStrategy is wrapped when a strategy is not one of auto, force or skip.
var ErrBadStrategy = errors.New("unknown latest strategy")

// ParseStrategy reads "auto", "force" or "skip"; the empty string means auto, anything else is an error wrapping ErrBadStrategy.
func ParseStrategy(s string) (Strategy, error) {
	switch st := Strategy(s); st {
	case "":
		return Auto, nil
	case Auto, Force, Skip:
		return st, nil
	}
	return "", fmt.Errorf("%w %q: use one of %s, %s, %s (empty means %s)", ErrBadStrategy, s, Auto, Force, Skip, Auto)
}

// Input is what Decide needs to know about one release.
type Input struct {
	// Tag is the tag being released.
	Tag string
	// Type says whether Tag is annotated or lightweight.
	Type tagtype.Type
	// Strategy is how to treat latest; empty means auto.
	Strategy Strategy
	// Current is the version tag latest points at now; empty means latest is not set.
	Current string
}

// Decision says whether to move latest to Input.Tag and why, in one human line.
type Decision struct {
	// Move is true when latest should point at Input.Tag after this release.
	Move bool
	// Reason is one human line such as "keep latest at 2.4.0: 2.3.9 is older".
	Reason string
}

// Decide applies the strategy to one release; it fails only for an invalid strategy or tag type.
func Decide(in Input) (Decision, error) {
	strategy, err := ParseStrategy(string(in.Strategy))
	if err != nil {
		return Decision{}, fmt.Errorf("deciding latest for %s: %w", in.Tag, err)
	}
	if _, err := tagtype.ParseType(string(in.Type)); err != nil {
		return Decision{}, fmt.Errorf("deciding latest for %s: %w", in.Tag, err)
	}

	switch strategy {
	case Skip:
		return keep(in, "strategy is skip"), nil
	case Force:
		return force(in), nil
	}
	return auto(in), nil
}

func force(in Input) Decision {
	v, err := version.Parse(in.Tag)
	switch {
	case err != nil:
		return keep(in, fmt.Sprintf("force refused: %q is not a version tag", in.Tag))
	case v.Prerelease():
		return keep(in, fmt.Sprintf("force refused: %s is a pre-release and latest never points at one", in.Tag))
	}
	var note string
	if cur, err := version.Parse(in.Current); err == nil && v.Compare(cur) < 0 {
		note = fmt.Sprintf(", although older than %s", in.Current)
	}
	return move(in, "strategy is force"+note)
}

func auto(in Input) Decision {
	if in.Type == tagtype.Lightweight {
		return keep(in, fmt.Sprintf("%s is a lightweight (internal) tag", show(in.Tag)))
	}
	v, err := version.Parse(in.Tag)
	if err != nil {
		return keep(in, fmt.Sprintf("%q is not a version tag", in.Tag))
	}
	if v.Prerelease() {
		return keep(in, fmt.Sprintf("%s is a pre-release", in.Tag))
	}
	if in.Current == "" {
		return move(in, "latest is not set yet")
	}
	cur, err := version.Parse(in.Current)
	if err != nil {
		return keep(in, fmt.Sprintf("that is not a version tag, so %s cannot be compared with it; release with strategy force to move latest deliberately", in.Tag))
	}
	switch c := v.Compare(cur); {
	case c > 0:
		return move(in, "greater than "+in.Current)
	case c == 0 && in.Tag == in.Current:
		return keep(in, "already there")
	case c == 0:
		return keep(in, fmt.Sprintf("%s is the same version, already latest", in.Tag))
	}
	return keep(in, in.Tag+" is older")
}

func move(in Input, why string) Decision {
	return Decision{Move: true, Reason: fmt.Sprintf("move latest to %s: %s", show(in.Tag), why)}
}

func keep(in Input, why string) Decision {
	if in.Current == "" {
		return Decision{Reason: "leave latest unset: " + why}
	}
	return Decision{Reason: fmt.Sprintf("keep latest at %s: %s", show(in.Current), why)}
}

// show spells a tag for a reason, quoting it when it holds spaces or
// unprintable characters so the reason stays one readable line.
func show(tag string) string {
	if strings.ContainsFunc(tag, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
		return strconv.Quote(tag)
	}
	return tag
}
