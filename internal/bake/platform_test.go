package bake

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePlatform(t *testing.T) {
	tests := []struct {
		in         string
		want       Platform
		wantString string
	}{
		{in: "linux/amd64", want: Platform{OS: "linux", Arch: "amd64"}, wantString: "linux/amd64"},
		{in: "linux/arm64", want: Platform{OS: "linux", Arch: "arm64"}, wantString: "linux/arm64"},
		{in: "linux/arm64/v8", want: Platform{OS: "linux", Arch: "arm64"}, wantString: "linux/arm64"},
		{in: "linux/amd64/v1", want: Platform{OS: "linux", Arch: "amd64"}, wantString: "linux/amd64"},
		{in: "linux/amd64/v3", want: Platform{OS: "linux", Arch: "amd64", Variant: "v3"}, wantString: "linux/amd64/v3"},
		{in: "linux/arm", want: Platform{OS: "linux", Arch: "arm", Variant: "v7"}, wantString: "linux/arm/v7"},
		{in: "linux/arm/v7", want: Platform{OS: "linux", Arch: "arm", Variant: "v7"}, wantString: "linux/arm/v7"},
		{in: "linux/arm/v6", want: Platform{OS: "linux", Arch: "arm", Variant: "v6"}, wantString: "linux/arm/v6"},
		{in: " Linux/X86_64 ", want: Platform{OS: "linux", Arch: "amd64"}, wantString: "linux/amd64"},
		{in: "linux/aarch64", want: Platform{OS: "linux", Arch: "arm64"}, wantString: "linux/arm64"},
		{in: "linux/armhf", want: Platform{OS: "linux", Arch: "arm", Variant: "v7"}, wantString: "linux/arm/v7"},
		{in: "linux/armel", want: Platform{OS: "linux", Arch: "arm", Variant: "v6"}, wantString: "linux/arm/v6"},
		{in: "linux/i386", want: Platform{OS: "linux", Arch: "386"}, wantString: "linux/386"},
		{in: "linux/s390x", want: Platform{OS: "linux", Arch: "s390x"}, wantString: "linux/s390x"},
		{in: "windows/amd64", want: Platform{OS: "windows", Arch: "amd64"}, wantString: "windows/amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePlatform(tt.in)
			if err != nil {
				t.Fatalf("ParsePlatform(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePlatform(%q) (-want +got):\n%s", tt.in, diff)
			}
			if diff := cmp.Diff(tt.wantString, got.String()); diff != "" {
				t.Errorf("String() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePlatformErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantMsg []string
	}{
		{in: "linux", wantMsg: []string{`bad platform "linux"`, "want os/arch or os/arch/variant, e.g. linux/amd64, linux/arm64, linux/arm/v7"}},
		{in: "", wantMsg: []string{`bad platform ""`, "e.g. linux/amd64"}},
		{in: "linux/", wantMsg: []string{`bad platform "linux/"`, `part ""`}},
		{in: "/amd64", wantMsg: []string{`part ""`}},
		{in: "linux/arm/v7/extra", wantMsg: []string{`bad platform "linux/arm/v7/extra"`}},
		{in: "linux/amd 64", wantMsg: []string{`part "amd 64"`}},
		{in: "linux/armhf/v6", wantMsg: []string{`architecture "armhf" already implies variant v7`, "linux/arm/v6"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePlatform(tt.in)
			if err == nil {
				t.Fatalf("ParsePlatform(%q) = %v, want error", tt.in, got)
			}
			checkErr(t, err, ErrBadPlatform, tt.wantMsg)
		})
	}
}
