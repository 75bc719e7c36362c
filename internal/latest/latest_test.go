package latest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/tagtype"
	"shipyard/internal/version"
)

func TestParseStrategy(t *testing.T) {
	tests := []struct {
		in   string
		want Strategy
	}{
		{"", Auto}, {"auto", Auto}, {"force", Force}, {"skip", Skip},
	}
	for _, tt := range tests {
		got, err := ParseStrategy(tt.in)
		if err != nil {
			t.Fatalf("ParseStrategy(%q): %v", tt.in, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseStrategy(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	for _, bad := range []string{"Auto", "always", "never", " auto", "true"} {
		_, err := ParseStrategy(bad)
		if !errors.Is(err, ErrBadStrategy) {
			t.Errorf("ParseStrategy(%q) error = %v, want ErrBadStrategy", bad, err)
			continue
		}
		want := fmt.Sprintf(`unknown latest strategy %q: use one of auto, force, skip (empty means auto)`, bad)
		if diff := cmp.Diff(want, err.Error()); diff != "" {
			t.Errorf("ParseStrategy(%q) message (-want +got):\n%s", bad, diff)
		}
	}
}

const (
	ann = tagtype.Annotated
	lw  = tagtype.Lightweight
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want Decision
	}{
		// auto
		{"auto first release", Input{"1.0.0", ann, Auto, ""}, Decision{true, "move latest to 1.0.0: latest is not set yet"}},
		{"empty strategy is auto", Input{"1.0.0", ann, "", ""}, Decision{true, "move latest to 1.0.0: latest is not set yet"}},
		{"auto greater", Input{"1.0.1", ann, Auto, "1.0.0"}, Decision{true, "move latest to 1.0.1: greater than 1.0.0"}},
		{"auto greater v-prefixed", Input{"v2.0.0", ann, Auto, "1.9.9"}, Decision{true, "move latest to v2.0.0: greater than 1.9.9"}},
		{"auto older hotfix", Input{"2.3.9", ann, Auto, "2.4.0"}, Decision{false, "keep latest at 2.4.0: 2.3.9 is older"}},
		{"auto equal", Input{"1.0.0", ann, Auto, "1.0.0"}, Decision{false, "keep latest at 1.0.0: already there"}},
		{"auto same version other spelling", Input{"v1.0.0", ann, Auto, "1.0.0"}, Decision{false, "keep latest at 1.0.0: v1.0.0 is the same version, already latest"}},
		{"auto pre-release", Input{"1.1.0-rc.1", ann, Auto, "1.0.0"}, Decision{false, "keep latest at 1.0.0: 1.1.0-rc.1 is a pre-release"}},
		{"auto glued pre-release", Input{"1.8.7beta2", ann, Auto, "1.8.6"}, Decision{false, "keep latest at 1.8.6: 1.8.7beta2 is a pre-release"}},
		{"auto pre-release first", Input{"1.0.0-rc.1", ann, Auto, ""}, Decision{false, "leave latest unset: 1.0.0-rc.1 is a pre-release"}},
		{"auto lightweight", Input{"2.0.0", lw, Auto, "1.0.0"}, Decision{false, "keep latest at 1.0.0: 2.0.0 is a lightweight (internal) tag"}},
		{"auto lightweight first", Input{"1.0.0", lw, Auto, ""}, Decision{false, "leave latest unset: 1.0.0 is a lightweight (internal) tag"}},
		{"auto not a version", Input{"nightly", ann, Auto, "1.0.0"}, Decision{false, `keep latest at 1.0.0: "nightly" is not a version tag`}},
		{"auto current not a version", Input{"2.1.0", ann, Auto, "release-2"}, Decision{false, "keep latest at release-2: that is not a version tag, so 2.1.0 cannot be compared with it; release with strategy force to move latest deliberately"}},
		{"auto odd characters quoted", Input{"1.0.0\nx", lw, Auto, "bad tag"}, Decision{false, `keep latest at "bad tag": "1.0.0\nx" is a lightweight (internal) tag`}},
		// force
		{"force older", Input{"2.3.9", ann, Force, "2.4.0"}, Decision{true, "move latest to 2.3.9: strategy is force, although older than 2.4.0"}},
		{"force greater", Input{"2.5.0", ann, Force, "2.4.0"}, Decision{true, "move latest to 2.5.0: strategy is force"}},
		{"force equal", Input{"2.4.0", ann, Force, "2.4.0"}, Decision{true, "move latest to 2.4.0: strategy is force"}},
		{"force lightweight", Input{"2.4.1", lw, Force, "2.4.0"}, Decision{true, "move latest to 2.4.1: strategy is force"}},
		{"force repairs odd current", Input{"2.1.0", ann, Force, "release-2"}, Decision{true, "move latest to 2.1.0: strategy is force"}},
		{"force first", Input{"0.1.0", ann, Force, ""}, Decision{true, "move latest to 0.1.0: strategy is force"}},
		{"force pre-release refused", Input{"3.0.0-rc.1", ann, Force, "2.4.0"}, Decision{false, "keep latest at 2.4.0: force refused: 3.0.0-rc.1 is a pre-release and latest never points at one"}},
		{"force invalid refused", Input{"latest", ann, Force, ""}, Decision{false, `leave latest unset: force refused: "latest" is not a version tag`}},
		// skip
		{"skip greater", Input{"3.0.0", ann, Skip, "2.4.0"}, Decision{false, "keep latest at 2.4.0: strategy is skip"}},
		{"skip first", Input{"1.0.0", ann, Skip, ""}, Decision{false, "leave latest unset: strategy is skip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decide(tt.in)
			if err != nil {
				t.Fatalf("Decide(%+v): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decide(%+v) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestDecideInvalidInput(t *testing.T) {
	tests := []struct {
		in       Input
		sentinel error
	}{
		{Input{"1.0.0", ann, "sometimes", ""}, ErrBadStrategy},
		{Input{"1.0.0", "", Auto, ""}, tagtype.ErrBadType},
		{Input{"1.0.0", "signed", Skip, ""}, tagtype.ErrBadType},
		{Input{"1.0.0", "Annotated", Force, ""}, tagtype.ErrBadType},
	}
	for _, tt := range tests {
		got, err := Decide(tt.in)
		if !errors.Is(err, tt.sentinel) {
			t.Errorf("Decide(%+v) = %+v, %v; want error wrapping %v", tt.in, got, err, tt.sentinel)
		}
	}
}

type release struct {
	tag string
	typ tagtype.Type
}

// randomRelease makes a tag from a small version space so that equal
// versions, hotfixes on old lines, pre-releases of released versions and
// odd names all happen often.
func randomRelease(r *rand.Rand) release {
	typ := ann
	if r.IntN(5) == 0 {
		typ = lw
	}
	if r.IntN(40) == 0 {
		return release{[]string{"nightly", "1.2", "latest", "release-3"}[r.IntN(4)], typ}
	}
	tag := fmt.Sprintf("%d.%d.%d", r.IntN(4), r.IntN(4), r.IntN(6))
	switch r.IntN(6) {
	case 0:
		tag += fmt.Sprintf("-rc.%d", r.IntN(3)+1)
	case 1:
		tag += []string{"alpha", "beta2", "rc1"}[r.IntN(3)]
	}
	if r.IntN(4) == 0 {
		tag += "+build." + fmt.Sprint(r.IntN(100))
	}
	if r.IntN(3) == 0 {
		tag = "v" + tag
	}
	return release{tag, typ}
}

// TestAutoProperty simulates latest under auto over many random release
// sequences and checks the promise after every release: latest is the
// greatest stable annotated version released so far, never a pre-release,
// never lower than before.
func TestAutoProperty(t *testing.T) {
	const sequences = 10000
	r := rand.New(rand.NewPCG(20240601, 7))
	moves := 0
	for seq := range sequences {
		n := 1 + r.IntN(30)
		current := ""
		var best, prev *version.Version
		for i := range n {
			rel := randomRelease(r)
			d, err := Decide(Input{Tag: rel.tag, Type: rel.typ, Strategy: Auto, Current: current})
			if err != nil {
				t.Fatalf("sequence %d release %d %q: %v", seq, i, rel.tag, err)
			}
			if d.Move {
				current = rel.tag
				moves++
			}
			if v, err := version.Parse(rel.tag); err == nil && v.IsStable() && rel.typ == ann && v.Compare(best) > 0 {
				best = v
			}
			var cur *version.Version
			if current != "" {
				if cur, err = version.Parse(current); err != nil {
					t.Fatalf("sequence %d: latest moved to non-version %q (%s)", seq, current, d.Reason)
				}
				if cur.Prerelease() {
					t.Fatalf("sequence %d: latest moved to pre-release %q (%s)", seq, current, d.Reason)
				}
			}
			if cur.Compare(best) != 0 {
				t.Fatalf("sequence %d after %q (%s): latest is %q, want version %v", seq, rel.tag, d.Reason, current, best)
			}
			if cur.Compare(prev) < 0 {
				t.Fatalf("sequence %d: latest went down from %v to %q (%s)", seq, prev, current, d.Reason)
			}
			prev = cur
		}
	}
	if moves < sequences {
		t.Fatalf("only %d moves over %d sequences: the generator is not exercising auto", moves, sequences)
	}
}

func BenchmarkDecide(b *testing.B) {
	inputs := []Input{
		{"1.0.1", ann, Auto, "1.0.0"},
		{"2.3.9", ann, Auto, "2.4.0"},
		{"1.1.0-rc.1", ann, Auto, "1.0.0"},
		{"2.0.0", lw, Auto, "1.0.0"},
		{"2.3.9", ann, Force, "2.4.0"},
	}
	for i := 0; b.Loop(); i++ {
		if _, err := Decide(inputs[i%len(inputs)]); err != nil {
			b.Fatal(err)
		}
	}
}
