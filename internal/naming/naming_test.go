package naming

import (
	"strings"
	"testing"
)

func TestSplitTag(t *testing.T) {
	for _, tt := range []struct{ ref, repo, tag string }{
		{"127.0.0.1:5000/shipyard/django:1.0.0", "127.0.0.1:5000/shipyard/django", "1.0.0"},
		{"127.0.0.1:5000/shipyard/django", "127.0.0.1:5000/shipyard/django", "latest"},
		{"registry.test/a/b:v1.2.3-rc.1", "registry.test/a/b", "v1.2.3-rc.1"},
	} {
		repo, tag := SplitTag(tt.ref)
		if repo != tt.repo || tag != tt.tag {
			t.Errorf("SplitTag(%q) = %q, %q; want %q, %q", tt.ref, repo, tag, tt.repo, tt.tag)
		}
	}
}

func TestPlatformTag(t *testing.T) {
	for _, tt := range []struct{ form, tag, platform, want string }{
		{"", "1.0.0", "linux/amd64", "1.0.0-amd64"},
		{DefaultPlatformTag, "1.0.0", "linux/arm64", "1.0.0-arm64"},
		{DefaultPlatformTag, "1.0.0", "linux/arm/v7", "1.0.0-armv7"},
		{"{arch}-{tag}", "staging", "linux/arm64", "arm64-staging"},
	} {
		if got := PlatformTag(tt.form, tt.tag, tt.platform); got != tt.want {
			t.Errorf("PlatformTag(%q, %q, %q) = %q, want %q", tt.form, tt.tag, tt.platform, got, tt.want)
		}
	}
}

func TestSlug(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"staging", "staging"},
		{"feat/New_Thing", "feat-new-thing"},
		{"--x--", "x"},
		{strings.Repeat("a", 62) + "/b", strings.Repeat("a", 62)},
	} {
		if got := Slug(tt.in); got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHostAndReleaseRepo(t *testing.T) {
	if got := Host("127.0.0.1:5001/releases/x"); got != "127.0.0.1:5001" {
		t.Errorf("Host = %q", got)
	}
	if got := ReleaseRepo("127.0.0.1:5001/releases/", "shop", "django"); got != "127.0.0.1:5001/releases/shop-django" {
		t.Errorf("ReleaseRepo = %q", got)
	}
}
