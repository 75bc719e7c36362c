package naming

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/imageref"
)

func TestPlatformRef(t *testing.T) {
	for _, tt := range []struct{ ref, form, platform, want string }{
		{"127.0.0.1:5000/shipyard/django:1.0.0", "", "linux/amd64", "127.0.0.1:5000/shipyard/django:1.0.0-amd64"},
		{"127.0.0.1:5000/shipyard/django", "", "linux/arm/v7", "127.0.0.1:5000/shipyard/django:latest-armv7"},
		{"[::1]:5000/a/b:v1.2.3-rc.1", "{arch}-{tag}", "linux/arm64", "[::1]:5000/a/b:arm64-v1.2.3-rc.1"},
		{"docker.io/group/app:1", "", "linux/amd64", "docker.io/group/app:1-amd64"},
	} {
		got, err := PlatformRef(tt.ref, tt.form, tt.platform)
		if err != nil {
			t.Errorf("PlatformRef(%q, %q, %q): %v", tt.ref, tt.form, tt.platform, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("PlatformRef(%q, %q, %q) (-want +got):\n%s", tt.ref, tt.form, tt.platform, diff)
		}
	}
	const sha = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if _, err := PlatformRef("127.0.0.1:5000/a:1@"+sha, "", "linux/amd64"); !errors.Is(err, imageref.ErrBadReference) {
		t.Errorf("PlatformRef of a digest: %v, want %v", err, imageref.ErrBadReference)
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

func TestReleaseRepo(t *testing.T) {
	if got := ReleaseRepo("127.0.0.1:5001/releases/", "shop", "django"); got != "127.0.0.1:5001/releases/shop-django" {
		t.Errorf("ReleaseRepo = %q", got)
	}
}
