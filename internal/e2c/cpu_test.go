package e2c

import (
	"context"
	"slices"
	"strings"
	"testing"

	"shipyard/internal/awsapi"
	"shipyard/internal/plan"
)

// fakeTypes answers the two questions PlannedCPU asks, and records them.
type fakeTypes struct {
	versions []awsapi.LaunchTemplateVersion
	insts    []awsapi.Instance
	err      error
	asked    []string
}

func (f *fakeTypes) DescribeLaunchTemplateVersions(_ context.Context, id string, versions ...string) ([]awsapi.LaunchTemplateVersion, error) {
	f.asked = append(f.asked, "DescribeLaunchTemplateVersions "+id+" "+strings.Join(versions, ","))
	return f.versions, f.err
}

func (f *fakeTypes) DescribeInstances(_ context.Context, ids []string, _ []awsapi.Filter) ([]awsapi.Instance, error) {
	f.asked = append(f.asked, "DescribeInstances "+strings.Join(ids, ","))
	return f.insts, f.err
}

func TestPlannedCPU(t *testing.T) {
	template := Config{Strategy: StrategyTemplate, LaunchTemplateID: "lt-0abc"}
	pinned := template
	pinned.LaunchTemplateVersion = "7"
	existing := Config{Strategy: StrategyExisting, InstanceID: "i-0123456789abcdef0"}
	denied := &awsapi.APIError{Action: "DescribeLaunchTemplateVersions", StatusCode: 403, Code: "UnauthorizedOperation", Message: "You are not authorized"}
	for _, tc := range []struct {
		name  string
		cfg   Config
		api   fakeTypes
		asked string
		runs  *bool
		says  string // part of From (known) or Unknown
	}{
		{"template: Graviton 3", template, fakeTypes{versions: []awsapi.LaunchTemplateVersion{{TemplateID: "lt-0abc", Number: 3, Default: true, InstanceType: "c7g.large"}}},
			"DescribeLaunchTemplateVersions lt-0abc $Default", no(), "launch template lt-0abc (version $Default)"},
		{"template: the version a launch uses", pinned, fakeTypes{versions: []awsapi.LaunchTemplateVersion{{TemplateID: "lt-0abc", Number: 7, InstanceType: "t4g.small"}}},
			"DescribeLaunchTemplateVersions lt-0abc 7", yes(), "launch template lt-0abc (version 7)"},
		{"template without an instance type", template, fakeTypes{versions: []awsapi.LaunchTemplateVersion{{TemplateID: "lt-0abc", Number: 1}}},
			"DescribeLaunchTemplateVersions lt-0abc $Default", nil, "launch template lt-0abc (version $Default) names no instance type"},
		{"template: an x86 type", template, fakeTypes{versions: []awsapi.LaunchTemplateVersion{{TemplateID: "lt-0abc", InstanceType: "m5.large"}}},
			"DescribeLaunchTemplateVersions lt-0abc $Default", nil, "m5.large (launch template lt-0abc (version $Default)) is no Graviton type"},
		{"template: no permission", template, fakeTypes{err: denied},
			"DescribeLaunchTemplateVersions lt-0abc $Default", nil, "it needs ec2:DescribeLaunchTemplateVersions): EC2 DescribeLaunchTemplateVersions"},
		{"template: no version", template, fakeTypes{},
			"DescribeLaunchTemplateVersions lt-0abc $Default", nil, "EC2 described 0 versions"},
		{"existing: Graviton 4", existing, fakeTypes{insts: []awsapi.Instance{{ID: "i-0123456789abcdef0", Type: "m8g.xlarge", State: "stopped"}}},
			"DescribeInstances i-0123456789abcdef0", no(), "instance i-0123456789abcdef0 (E2C_INSTANCE_ID)"},
		{"existing: Graviton 2", existing, fakeTypes{insts: []awsapi.Instance{{ID: "i-0123456789abcdef0", Type: "c6g.large"}}},
			"DescribeInstances i-0123456789abcdef0", yes(), "instance i-0123456789abcdef0"},
		{"existing: gone", existing, fakeTypes{},
			"DescribeInstances i-0123456789abcdef0", nil, "EC2 described 0 instances for instance i-0123456789abcdef0"},
		{"existing: refused", existing, fakeTypes{err: &awsapi.APIError{Action: "DescribeInstances", StatusCode: 400, Code: "InvalidInstanceID.NotFound"}},
			"DescribeInstances i-0123456789abcdef0", nil, "EC2 did not describe instance i-0123456789abcdef0 (E2C_INSTANCE_ID)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PlannedCPU(context.Background(), &tc.api, tc.cfg)
			if !slices.Equal(tc.api.asked, []string{tc.asked}) {
				t.Errorf("asked %q, want %q", tc.api.asked, tc.asked)
			}
			runs, known := got.Says()
			if known != (tc.runs != nil) || known && runs != *tc.runs {
				t.Errorf("PlannedCPU = %+v, want runs %v", got, tc.runs)
			}
			if text := got.From + got.Unknown; !strings.Contains(text, tc.says) {
				t.Errorf("PlannedCPU = %+v, want …%s…", got, tc.says)
			}
		})
	}
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func TestCPULookup(t *testing.T) {
	ok := Settings{Strategy: StrategyTemplate, LaunchTemplateID: "lt-0abc1234", AccessKeys: true, Project: "shop", JobID: "42"}
	for _, tc := range []struct {
		name string
		s    Settings
		why  string // "" when EC2 is asked
	}{
		{"access keys", ok, ""},
		{"web identity", Settings{Strategy: StrategyExisting, InstanceID: "i-0123456789abcdef0", WebIdentity: true, SSHPrivateKey: true, Project: "shop", JobID: "42"}, ""},
		{"no credentials", Settings{Strategy: StrategyTemplate, LaunchTemplateID: "lt-0abc1234", Project: "shop", JobID: "42"}, "no AWS credentials were given (with-arm-access or with-aws-web-identity), so EC2 was not asked"},
		{"no template", Settings{Strategy: StrategyTemplate, AccessKeys: true, Project: "shop", JobID: "42"}, "EC2 was not asked: ARM builder preflight (--arm-builder=ec2): e2c configuration has 1 problem(s): strategy \"template\" needs a launch template: set E2C_LAUNCH_TEMPLATE_ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, why := tc.s.CPULookup()
			if why != tc.why || why == "" && cfg.Strategy != tc.s.Strategy || strings.Contains(why, "\n") {
				t.Errorf("CPULookup = %+v, %q; want %q", cfg, why, tc.why)
			}
		})
	}
}

func TestARM32Verdict(t *testing.T) {
	const from = "instance i-1"
	g2, g3 := plan.CPUOfInstanceType("t4g.small", from), plan.CPUOfInstanceType("c7g.large", from)
	unknown := plan.CPUOfInstanceType("", from)
	tests := []struct {
		name  string
		cpu   plan.BuilderCPU
		runs  bool
		why   string
		err   error
		want  bool
		lines []string
	}{
		{"yes, as its type says", g2, true, "its arm64 kernel accepts the 32-bit personality", nil, true, []string{
			"e2c: builder i-1 is a t4g.small (Graviton 2, Neoverse N1), which runs 32-bit ARM code (AArch32 at EL0)",
			"e2c: does the builder run 32-bit ARM code (linux/arm/v7 natively)? yes: its arm64 kernel accepts the 32-bit personality"}},
		{"no, as its type says", g3, false, "its arm64 kernel refuses the 32-bit personality", nil, false, []string{
			"e2c: builder i-1 is a c7g.large (Graviton 3, Neoverse V1): Graviton 3 and later have no 32-bit mode (no AArch32 at EL0)",
			"e2c: does the builder run 32-bit ARM code (linux/arm/v7 natively)? no: its arm64 kernel refuses the 32-bit personality"}},
		{"the answer wins over its type", g2, false, "the builder is x86_64, not ARM", nil, false, []string{
			"e2c: builder i-1 is a t4g.small (Graviton 2, Neoverse N1), which runs 32-bit ARM code (AArch32 at EL0)",
			"e2c: does the builder run 32-bit ARM code (linux/arm/v7 natively)? no: the builder is x86_64, not ARM; its instance type t4g.small said yes: the builder's own answer counts"}},
		{"yes over a Graviton 3 type", g3, true, "its arm64 kernel accepts the 32-bit personality", nil, true, []string{
			"e2c: builder i-1 is a c7g.large (Graviton 3, Neoverse V1): Graviton 3 and later have no 32-bit mode (no AArch32 at EL0)",
			"e2c: does the builder run 32-bit ARM code (linux/arm/v7 natively)? yes: its arm64 kernel accepts the 32-bit personality; its instance type c7g.large said no: the builder's own answer counts"}},
		{"type unknown", unknown, false, "its arm64 kernel refuses the 32-bit personality", nil, false, []string{
			"e2c: builder i-1 is of an unknown instance type (instance i-1 names no instance type)",
			"e2c: does the builder run 32-bit ARM code (linux/arm/v7 natively)? no: its arm64 kernel refuses the 32-bit personality"}},
		{"no answer: QEMU here", g2, true, "", errTest("asking 203.0.113.5:22 whether its CPU runs 32-bit ARM code: EOF"), false, []string{
			"e2c: builder i-1 is a t4g.small (Graviton 2, Neoverse N1), which runs 32-bit ARM code (AArch32 at EL0)",
			"e2c: WARNING: asking 203.0.113.5:22 whether its CPU runs 32-bit ARM code: EOF; linux/arm/v7 is built with QEMU here"}},
	}
	for _, tt := range tests {
		got, lines := ARM32Verdict("i-1", tt.cpu, tt.runs, tt.why, tt.err)
		if got != tt.want || !slices.Equal(lines, tt.lines) {
			t.Errorf("%s: %v %q,\nwant %v %q", tt.name, got, lines, tt.want, tt.lines)
		}
	}
}
