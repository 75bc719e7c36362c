package plan

import (
	"cmp"
	"fmt"
	"strings"
)

// Values of E2C_USAGE, the old pipeline's switch for ARM builds on EC2 instances.
const (
	// E2CUsageOn builds ARM on the EC2 builder, as the old pipeline's "true" did.
	E2CUsageOn = "true"
	// E2CUsageOff leaves the ARM settings as they are, as the old pipeline's "false" (QEMU) did.
	E2CUsageOff = "false"
)

// ARMChoice is what a run builds for ARM and where, once the old pipeline's E2C_USAGE is applied
// to BUILD_ARM64, BUILD_ARMV7 and ARM_BUILDER.
type ARMChoice struct {
	// Arm64 and Armv7 ask for linux/arm64 and linux/arm/v7.
	Arm64, Armv7 bool
	// Builder is where ARM is built: ARMQEMU, ARMEC2, or the unknown ARM_BUILDER given (which
	// Make refuses, naming it).
	Builder string
	// Note says what E2C_USAGE decided, or that ARM_BUILDER overrules it; "" when it decided
	// nothing.
	Note string
}

// ChooseARM applies E2C_USAGE to the ARM settings. The old pipeline's "true" built linux/arm64 on
// native ARM EC2 instances instead of under QEMU (its EC2 build phase ran with
// --platform=linux/arm64), so E2C_USAGE=true fills in what is not said explicitly: the EC2 builder
// when ARM_BUILDER is empty, and linux/arm64 when neither BUILD_ARM64 nor BUILD_ARMV7 is true.
// ARM_BUILDER, when set, and the ARM platforms asked for win. "", and "false", change nothing;
// any other value is an error naming E2C_USAGE.
//
// BUILD_ARM64=false cannot be told from BUILD_ARM64 unset (the module's --arm64 is a bool whose
// default is false), so under E2C_USAGE=true it still gets linux/arm64: a run that builds no ARM
// platform leaves E2C_USAGE unset or false.
func ChooseARM(arm64, armv7 bool, armBuilder, e2cUsage string) (ARMChoice, error) {
	c := ARMChoice{Arm64: arm64, Armv7: armv7, Builder: cmp.Or(armBuilder, ARMQEMU)}
	switch e2cUsage {
	case "", E2CUsageOff:
		return c, nil
	case E2CUsageOn:
	default:
		return c, fmt.Errorf("--usage (E2C_USAGE) %q: use true (ARM images on the EC2 builder, as the old pipeline's switch) or false, or leave it unset and say it with ARM_BUILDER=ec2 and BUILD_ARM64=true", e2cUsage)
	}
	var decided []string
	if !arm64 && !armv7 {
		c.Arm64 = true
		decided = append(decided, "linux/arm64 is built (as BUILD_ARM64=true; neither BUILD_ARM64 nor BUILD_ARMV7 asks for an ARM platform)")
	}
	switch armBuilder {
	case "":
		c.Builder = ARMEC2
		decided = append(decided, "ARM images are built on the EC2 builder (as ARM_BUILDER=ec2)")
	case ARMQEMU:
		c.Note = "WARNING: E2C_USAGE=true asks for ARM images on the EC2 builder, but ARM_BUILDER=qemu is set and wins: they are emulated on the local engine; unset ARM_BUILDER to build them on EC2"
		if len(decided) > 0 {
			c.Note += "; " + decided[0]
		}
		return c, nil
	}
	if len(decided) > 0 {
		c.Note = "E2C_USAGE=true (the old pipeline's switch for ARM on EC2): " + strings.Join(decided, "; ")
	}
	return c, nil
}
