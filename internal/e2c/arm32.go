package e2c

import (
	"context"
	"fmt"
	"strings"
)

// arm32Probe asks the builder's kernel whether this CPU runs 32-bit ARM code. On an arm64 kernel
// the personality system call refuses PER_LINUX32 (EINVAL) exactly when no CPU core implements
// AArch32 at EL0 (arch/arm64/kernel/sys.c: system_supports_32bit_el0(), which also needs the
// kernel's CONFIG_COMPAT), so `setarch linux32 true` succeeds only where 32-bit ARM programs run
// natively; lscpu's "CPU op-mode(s): 32-bit, 64-bit" is decided the same way. It reads the kernel's
// own verdict instead of guessing from /proc/cpuinfo, whose Features line shows the 32-bit hwcaps
// only to a 32-bit process, or from CPU model names. setarch is part of util-linux, which every
// Debian and Ubuntu image has; without it the answer is "unknown".
const arm32Probe = `uname -m; if ! command -v setarch >/dev/null 2>&1; then echo linux32=unknown; ` +
	`elif setarch linux32 true >/dev/null 2>&1; then echo linux32=yes; else echo linux32=no; fi`

// Runs32BitARM asks the builder, over one connection that verified the pinned host key, whether
// its CPU runs 32-bit ARM (linux/arm/v7) code natively, and says why (see ParseARM32Probe).
func (t SSHTarget) Runs32BitARM(ctx context.Context) (bool, string, error) {
	out, err := t.Run(ctx, arm32Probe)
	if err != nil {
		return false, "", fmt.Errorf("asking %s whether its CPU runs 32-bit ARM code: %w", t.Addr, err)
	}
	ok, why := ParseARM32Probe(out)
	return ok, why, nil
}

// ParseARM32Probe reads the probe's output ("MACHINE\nlinux32=yes|no|unknown"): a 32-bit ARM
// kernel (armv7l, armv8l) runs 32-bit code; an arm64 kernel does when it accepts the linux32
// personality; anything else, or an answer it cannot read, does not (QEMU then builds arm/v7).
func ParseARM32Probe(out string) (bool, string) {
	f := strings.Fields(out)
	if len(f) != 2 || !strings.HasPrefix(f[1], "linux32=") {
		return false, fmt.Sprintf("cannot tell from the builder's answer %q", strings.TrimSpace(out))
	}
	machine, linux32 := f[0], strings.TrimPrefix(f[1], "linux32=")
	switch {
	case machine == "aarch64" || machine == "arm64":
		switch linux32 {
		case "yes":
			return true, "its arm64 kernel accepts the 32-bit personality (AArch32 at EL0)"
		case "no":
			return false, "its arm64 kernel refuses the 32-bit personality: the CPU has no AArch32 at EL0 (or the kernel lacks CONFIG_COMPAT)"
		default:
			return false, "cannot tell: setarch (util-linux) is not installed on the builder"
		}
	case strings.HasPrefix(machine, "armv"):
		return true, "its kernel is 32-bit ARM (" + machine + ")"
	default:
		return false, "the builder is " + machine + ", not ARM"
	}
}
