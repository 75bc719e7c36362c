package bake

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAnnotations(t *testing.T) {
	arm := &Platform{OS: "linux", Arch: "arm64"}
	for _, tt := range []struct {
		in   []string
		want []Annotation
	}{
		{[]string{"org.opencontainers.image.title=App"}, []Annotation{{Place: "manifest", Key: "org.opencontainers.image.title", Value: "App"}}},
		{[]string{"index:a=1", ""}, []Annotation{{Place: "index", Key: "a", Value: "1"}}},
		{[]string{"index,manifest:a=x=y"}, []Annotation{{Place: "index", Key: "a", Value: "x=y"}, {Place: "manifest", Key: "a", Value: "x=y"}}},
		{[]string{"manifest[linux/aarch64]:a="}, []Annotation{{Place: "manifest", Platform: arm, Key: "a"}}},
		{[]string{"manifest-descriptor:d=1"}, []Annotation{{Place: "manifest-descriptor", Key: "d", Value: "1"}}},
	} {
		got, err := ParseAnnotations(tt.in)
		if err != nil {
			t.Errorf("ParseAnnotations(%q): %v", tt.in, err)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("ParseAnnotations(%q) (-want +got):\n%s", tt.in, d)
		}
	}
}

func TestParseAnnotationsErrors(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want error
		msg  string
	}{
		{"no-value", ErrInvalid, "want KEY=VALUE"},
		{"index:=1", ErrInvalid, "no key"},
		{"layer:a=1", ErrInvalid, `unknown place "layer"`},
		{"Index:a=1", ErrInvalid, `place "Index"`},
		{"manifest[linux]:a=1", ErrBadPlatform, "linux"},
		{"index-descriptor:a=1", ErrUnsupported, "OCI layout"},
	} {
		_, err := ParseAnnotations([]string{tt.in})
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseAnnotations(%q) = %v, want %v mentioning %q", tt.in, err, tt.want, tt.msg)
		}
	}
}

func TestAnnotationsAt(t *testing.T) {
	anns, err := ParseAnnotations([]string{"a=all", "manifest[linux/arm64]:a=arm", "manifest[linux/arm64]:b=arm",
		"index:i=1", "index[linux/arm64]:j=never", "manifest-descriptor[linux/amd64]:d=amd"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		place, platform string
		want            map[string]string
	}{
		{"manifest", "linux/amd64", map[string]string{"a": "all"}},
		{"manifest", "linux/arm64", map[string]string{"a": "arm", "b": "arm"}},
		{"index", "", map[string]string{"i": "1"}},
		{"manifest-descriptor", "linux/amd64", map[string]string{"d": "amd"}},
		{"manifest-descriptor", "linux/arm64", nil},
	} {
		if d := cmp.Diff(tt.want, AnnotationsAt(anns, tt.place, tt.platform)); d != "" {
			t.Errorf("AnnotationsAt(%s, %s) (-want +got):\n%s", tt.place, tt.platform, d)
		}
	}
}
