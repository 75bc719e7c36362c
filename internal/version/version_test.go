package version

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type parsed struct {
	String, Canonical string
	Prerelease        bool
	IsStable          bool
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		tag  string
		want parsed
	}{
		{"1.2.3", parsed{"1.2.3", "1.2.3", false, true}},
		{"0.0.0", parsed{"0.0.0", "0.0.0", false, true}},
		{"v1.2.3", parsed{"v1.2.3", "1.2.3", false, true}},
		{"1.2.3-rc.1", parsed{"1.2.3-rc.1", "1.2.3-rc.1", true, false}},
		{"v2.0.0-beta", parsed{"v2.0.0-beta", "2.0.0-beta", true, false}},
		{"1.2.3+build", parsed{"1.2.3+build", "1.2.3+build", false, true}},
		{"1.2.3-rc.1+build.7", parsed{"1.2.3-rc.1+build.7", "1.2.3-rc.1+build.7", true, false}},
		{"1.8.7alpha", parsed{"1.8.7alpha", "1.8.7-alpha", true, false}},
		{"1.8.7beta2", parsed{"1.8.7beta2", "1.8.7-beta2", true, false}},
		{"1.8.7rc1", parsed{"1.8.7rc1", "1.8.7-rc1", true, false}},
		{"v1.8.7RC1", parsed{"v1.8.7RC1", "1.8.7-RC1", true, false}},
		{"1.8.7rc1+sha.abc", parsed{"1.8.7rc1+sha.abc", "1.8.7-rc1+sha.abc", true, false}},
		{"10.20.30", parsed{"10.20.30", "10.20.30", false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			v, err := Parse(tt.tag)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.tag, err)
			}
			got := parsed{v.String(), v.Canonical(), v.Prerelease(), v.IsStable()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.tag, diff)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tags := []string{
		"", "1", "1.2", "latest", "main", " 1.2.3", "1.2.3 ", "1.2.3\n", "01.2.3", "1.02.3", "1.2.03",
		"V1.2.3", "vv1.2.3", "v", "1.2.3.4", "1.2.3-", "1.2.3+", "1.2.3-rc..1", "1.2.3-01",
		"1.2.3alpha.1", "1.2.3rc-1", "1.2.3rc1-x", "1.2.3_rc1", "1.2.-3", "-1.2.3", "1.2.3+a+b",
		"1.2.3-é", "1.2.x", "1.2.3 rc1", "99999999999999999999.0.0", strings.Repeat("1", 300) + ".0.0",
	}
	for _, tag := range tags {
		t.Run(tag, func(t *testing.T) {
			v, err := Parse(tag)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tag, v.Canonical())
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) error %v does not wrap ErrInvalid", tag, err)
			}
			msg := err.Error()
			for _, want := range []string{quote(tag), AcceptedForms} {
				if !strings.Contains(msg, want) {
					t.Errorf("Parse(%q) error %q does not mention %q", tag, msg, want)
				}
			}
		})
	}
}

func quote(s string) string { return strconv.Quote(s) }

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.2.3", "1.2.3", 0},
		{"v1.2.3", "1.2.3", 0},
		{"1.2.3+a", "1.2.3+b", 0},
		{"1.2.4", "1.2.3", 1},
		{"1.10.0", "1.9.9", 1},
		{"2.0.0", "1.99.99", 1},
		{"1.2.3-rc.1", "1.2.3", -1},
		{"1.2.3rc1", "1.2.3", -1},
		{"1.2.3rc1", "1.2.3-rc1", 0},
		{"1.2.3alpha", "1.2.3beta2", -1},
		{"1.2.3-rc.2", "1.2.3-rc.10", -1},
		{"1.2.3rc2", "1.2.3rc10", 1}, // documented: glued suffix is one ASCII-ordered identifier
		{"1.2.4-rc.1", "1.2.3", 1},
	}
	for _, tt := range tests {
		a, b := mustParse(t, tt.a), mustParse(t, tt.b)
		got := []int{a.Compare(b), b.Compare(a)}
		want := []int{tt.want, -tt.want}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Compare(%s, %s) and reverse (-want +got):\n%s", tt.a, tt.b, diff)
		}
		if diff := cmp.Diff(tt.want > 0, a.GreaterThan(b)); diff != "" {
			t.Errorf("%s.GreaterThan(%s) (-want +got):\n%s", tt.a, tt.b, diff)
		}
	}
}

func TestCompareNil(t *testing.T) {
	v := mustParse(t, "0.0.0")
	var none *Version
	got := []int{none.Compare(none), none.Compare(v), v.Compare(none)}
	if diff := cmp.Diff([]int{0, -1, 1}, got); diff != "" {
		t.Errorf("nil ordering (-want +got):\n%s", diff)
	}
}

func TestValid(t *testing.T) {
	for tag, want := range map[string]bool{
		"1.2.3": true, "v1.2.3": true, "1.2.3-rc.1": true, "1.8.7beta2": true, "1.8.7alpha": true,
		"latest": false, "edge": false, "sha-0123abc": false, "1.2": false, "": false,
		"1.0.0-amd64": true, // a per-platform build tag has the form of a pre-release
	} {
		if got := Valid(tag); got != want {
			t.Errorf("Valid(%q) = %v, want %v", tag, got, want)
		}
	}
}

func TestGreatest(t *testing.T) {
	tests := []struct {
		tags []string
		want string
	}{
		{nil, ""},
		{[]string{"latest", "edge", "sha-0123abc"}, ""},
		{[]string{"1.0.0", "latest", "1.2.0", "1.10.0", "1.9.9"}, "1.10.0"},
		// the glued pre-release is a version, and sorts before its release
		{[]string{"1.8.7beta2", "latest"}, "1.8.7beta2"},
		{[]string{"1.8.7beta2", "1.8.6"}, "1.8.7beta2"},
		{[]string{"1.8.7", "1.8.7beta2", "1.8.7rc1"}, "1.8.7"},
		{[]string{"1.8.7alpha", "1.8.7beta2", "1.8.7-alpha.1"}, "1.8.7beta2"},
		{[]string{"1.8.7rc1", "1.8.7-rc1"}, "1.8.7rc1"},
		// equal precedence: the greatest spelling, whatever the order
		{[]string{"v1.2.3", "1.2.3", "1.2.3+b"}, "v1.2.3"},
		{[]string{"1.2.3+b", "1.2.3", "1.2.3+a"}, "1.2.3+b"},
	}
	for _, tt := range tests {
		got := Greatest(tt.tags...)
		reversed := slices.Clone(tt.tags)
		slices.Reverse(reversed)
		if diff := cmp.Diff([]string{tt.want, tt.want}, []string{got, Greatest(reversed...)}); diff != "" {
			t.Errorf("Greatest(%q) and reversed (-want +got):\n%s", tt.tags, diff)
		}
	}
}

func mustParse(t testing.TB, tag string) *Version {
	t.Helper()
	v, err := Parse(tag)
	if err != nil {
		t.Fatalf("Parse(%q): %v", tag, err)
	}
	return v
}

func FuzzParse(f *testing.F) {
	seeds := [][2]string{
		{"1.2.3", "v1.2.3"}, {"1.2.3-rc.1", "1.2.3"}, {"1.8.7beta2", "1.8.7-beta10"}, {"1.2.3+build", "1.2.3+other"},
		{"1.8.7alpha", "1.8.7rc1"}, {"latest", "1.2"}, {"01.2.3", " 1.2.3"}, {"1.2.3-x.7.z.92", "1.2.3-x.7.z.100"},
		{"1.2.3-99999999999999999999", "1.2.3-1"}, {"v0.0.0-0", "0.0.0--"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, errA := Parse(a)
		vb, errB := Parse(b)
		for _, c := range []struct {
			tag string
			v   *Version
			err error
		}{{a, va, errA}, {b, vb, errB}} {
			if c.err != nil {
				if !errors.Is(c.err, ErrInvalid) {
					t.Fatalf("Parse(%q) error %v does not wrap ErrInvalid", c.tag, c.err)
				}
				continue
			}
			if c.v.String() != c.tag {
				t.Fatalf("Parse(%q).String() = %q", c.tag, c.v.String())
			}
			if c.v.Prerelease() == c.v.IsStable() {
				t.Fatalf("Parse(%q): Prerelease and IsStable agree", c.tag)
			}
			again, err := Parse(c.v.Canonical())
			if err != nil {
				t.Fatalf("Parse(%q).Canonical() = %q does not parse: %v", c.tag, c.v.Canonical(), err)
			}
			if again.Canonical() != c.v.Canonical() || again.Compare(c.v) != 0 || again.Prerelease() != c.v.Prerelease() {
				t.Fatalf("round trip of %q via %q gave %q", c.tag, c.v.Canonical(), again.Canonical())
			}
		}
		if errA != nil || errB != nil {
			return
		}
		ab, ba := va.Compare(vb), vb.Compare(va)
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("Compare not antisymmetric: %q vs %q gives %d, reverse %d", a, b, ab, ba)
		}
		if va.GreaterThan(vb) && vb.GreaterThan(va) {
			t.Fatalf("%q and %q are each greater than the other", a, b)
		}
	})
}
