package e2c

import (
	"strings"
	"testing"
)

func TestParseARM32Probe(t *testing.T) {
	for _, tc := range []struct {
		out     string
		want    bool
		because string
	}{
		{"aarch64\nlinux32=yes\n", true, "accepts the 32-bit personality"},
		{"aarch64\nlinux32=no\n", false, "no AArch32 at EL0"},
		{"aarch64\nlinux32=unknown\n", false, "setarch (util-linux) is not installed"},
		{"armv7l\nlinux32=yes\n", true, "32-bit ARM (armv7l)"},
		{"armv8l\nlinux32=no\n", true, "32-bit ARM (armv8l)"},
		{"x86_64\nlinux32=yes\n", false, "x86_64, not ARM"},
		{"", false, "cannot tell"},
		{"bash: uname: command not found\n", false, "cannot tell"},
	} {
		got, why := ParseARM32Probe(tc.out)
		if got != tc.want || !strings.Contains(why, tc.because) {
			t.Errorf("ParseARM32Probe(%q) = %t, %q; want %t, …%s…", tc.out, got, why, tc.want, tc.because)
		}
	}
}
