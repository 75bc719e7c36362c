package bake

import (
	"fmt"
	"strings"
)

// Entry is one target built for one platform.
type Entry struct {
	Target   *Target
	Platform string
}

// Matrix lists target × platform for a build: the requested platforms (default linux/amd64),
// narrowed to what each target declares (a target that declares none takes them all). bake's
// "local", requested or declared, is builder, the platform of the engine that builds (the zero
// value: BuilderPlatform). Targets that are only another target's context (target:
// references) are built by their users, not on their own, so they are left out.
func Matrix(targets []*Target, requested []string, builder Platform) ([]Entry, error) {
	if builder == (Platform{}) {
		builder = BuilderPlatform
	}
	want := []string{"linux/amd64"}
	if len(requested) > 0 {
		want = nil
		for _, s := range requested {
			p, err := ParsePlatform(s)
			if err != nil {
				return nil, fmt.Errorf("--platform: %w", err)
			}
			want = append(want, p.Or(builder).String())
		}
	}
	deps := map[string]bool{}
	for _, t := range targets {
		for _, d := range t.TargetDeps() {
			deps[d] = true
		}
	}
	var out []Entry
	for _, t := range targets {
		if deps[t.Name] {
			continue
		}
		for _, w := range want {
			if t.supports(w, builder) {
				out = append(out, Entry{Target: t, Platform: w})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no selected target supports %s (see the platforms of the bake targets)",
			ErrInvalid, strings.Join(want, ", "))
	}
	return out, nil
}

// BuilderPlatform is the builder's platform assumed when the caller does not know it.
var BuilderPlatform = Platform{OS: "linux", Arch: "amd64"}

func (t *Target) supports(platform string, builder Platform) bool {
	if len(t.Platforms) == 0 {
		return true
	}
	for _, p := range t.Platforms {
		if p.Or(builder).String() == platform {
			return true
		}
	}
	return false
}
