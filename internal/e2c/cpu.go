package e2c

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"shipyard/internal/awsapi"
	"shipyard/internal/plan"
)

// TypeReader is the part of the EC2 API that tells a builder's instance type before it is up;
// *awsapi.Client satisfies it.
type TypeReader interface {
	DescribeLaunchTemplateVersions(ctx context.Context, id string, versions ...string) ([]awsapi.LaunchTemplateVersion, error)
	DescribeInstances(ctx context.Context, ids []string, filters []awsapi.Filter) ([]awsapi.Instance, error)
}

var _ TypeReader = (*awsapi.Client)(nil)

// CPULookup is the configuration the builder's instance type is read with before anything runs,
// or why it is not read: without AWS credentials EC2 is not asked, and settings the release would
// refuse name no instance or template to ask about.
func (s Settings) CPULookup() (Config, string) {
	if !s.AccessKeys && !s.WebIdentity {
		return Config{}, "no AWS credentials were given (with-arm-access or with-aws-web-identity), so EC2 was not asked"
	}
	b, err := s.Resolve()
	if err != nil {
		return Config{}, "EC2 was not asked: " + strings.Join(strings.Fields(err.Error()), " ")
	}
	return b.Config, ""
}

// PlannedCPU reads, before anything is launched or started, the instance type the builder of cfg
// gets (the launch template's version that a launch uses, or the existing instance's) and what it
// says about 32-bit ARM code. Nothing EC2 answers is an error here: the type is then unknown, and
// why, and the builder is asked when it is up.
func PlannedCPU(ctx context.Context, api TypeReader, cfg Config) plan.BuilderCPU {
	switch cfg.Strategy {
	case StrategyTemplate:
		version := cmp.Or(cfg.LaunchTemplateVersion, "$Default")
		from := fmt.Sprintf("launch template %s (version %s)", cfg.LaunchTemplateID, version)
		vs, err := api.DescribeLaunchTemplateVersions(ctx, cfg.LaunchTemplateID, version)
		switch {
		case err != nil:
			return plan.UnknownCPU(fmt.Sprintf("EC2 did not describe %s (it needs ec2:DescribeLaunchTemplateVersions): %v", from, err))
		case len(vs) != 1:
			return plan.UnknownCPU(fmt.Sprintf("EC2 described %d versions of %s, want 1", len(vs), from))
		}
		return plan.CPUOfInstanceType(vs[0].InstanceType, from)
	case StrategyExisting:
		from := fmt.Sprintf("instance %s (E2C_INSTANCE_ID)", cfg.InstanceID)
		insts, err := api.DescribeInstances(ctx, []string{cfg.InstanceID}, nil)
		switch {
		case err != nil:
			return plan.UnknownCPU(fmt.Sprintf("EC2 did not describe %s: %v", from, err))
		case len(insts) != 1:
			return plan.UnknownCPU(fmt.Sprintf("EC2 described %d instances for %s, want 1", len(insts), from))
		}
		return plan.CPUOfInstanceType(insts[0].Type, from)
	}
	return plan.UnknownCPU(fmt.Sprintf("strategy %q names no instance type", cfg.Strategy))
}

// ARM32Verdict is what the builder's answer to the 32-bit probe (Runs32BitARM) means for
// linux/arm/v7, and the lines to log: the builder's instance type and what it says, then the
// answer. Natively there only if it says yes; when it cannot tell, QEMU here builds it. The
// answer wins over the instance type, and a disagreement is logged.
func ARM32Verdict(id string, cpu plan.BuilderCPU, runs bool, why string, err error) (bool, []string) {
	lines := []string{"e2c: builder " + id + " is " + cpu.Describe() + typeSays(cpu)}
	if err != nil {
		return false, append(lines, fmt.Sprintf("e2c: WARNING: %v; linux/arm/v7 is built with QEMU here", err))
	}
	line := fmt.Sprintf("e2c: does the builder run 32-bit ARM code (linux/arm/v7 natively)? %s: %s", yesNo(runs), why)
	if said, known := cpu.Says(); known && said != runs {
		line += fmt.Sprintf("; its instance type %s said %s: the builder's own answer counts", cpu.InstanceType, yesNo(said))
	}
	return runs, append(lines, line)
}

// typeSays is what the instance type says about 32-bit ARM code, for the log.
func typeSays(cpu plan.BuilderCPU) string {
	runs, known := cpu.Says()
	switch {
	case !known:
		return ""
	case runs:
		return ", which runs 32-bit ARM code (AArch32 at EL0)"
	}
	return ": Graviton 3 and later have no 32-bit mode (no AArch32 at EL0)"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
