package plan

import (
	"errors"
	"strings"
	"testing"

	"shipyard/internal/rules"
)

func TestAfterLoss(t *testing.T) {
	cases := []struct {
		setting, strategy string
		retried           bool
		want              LossAction
		why               string
	}{
		{"", "template", false, ActQEMU, "default"},
		{LossQEMU, "existing", false, ActQEMU, "QEMU"},
		{LossFail, "template", false, ActFail, "fail"},
		{LossOnDemand, "template", false, ActRetryOnDemand, "on-demand"},
		{LossOnDemand, "template", true, ActQEMU, "lost too"},
		{LossOnDemand, "existing", false, ActQEMU, "cannot be replaced"},
	}
	for _, c := range cases {
		got, why := AfterLoss(c.setting, c.strategy, c.retried)
		if got != c.want || !strings.Contains(why, c.why) {
			t.Errorf("AfterLoss(%q, %q, %v) = %s, %q; want %s and a reason with %q", c.setting, c.strategy, c.retried, got, why, c.want, c.why)
		}
	}
}

func TestOnBuilderLossIsChecked(t *testing.T) {
	_, err := Make(Input{Ref: rules.Ref{Branch: "staging"}, Arm64: true, ARMBuilder: ARMEC2, OnBuilderLoss: "pray", Targets: targets("staging")})
	if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "E2C_ON_BUILDER_LOSS") || !strings.Contains(err.Error(), "on-demand") {
		t.Fatalf("a bad --on-builder-loss: %v", err)
	}
	for _, ok := range []string{"", LossQEMU, LossOnDemand, LossFail} {
		if _, err := Make(Input{Ref: rules.Ref{Branch: "staging"}, Arm64: true, ARMBuilder: ARMEC2, OnBuilderLoss: ok, Targets: targets("staging")}); err != nil {
			t.Errorf("--on-builder-loss=%q refused: %v", ok, err)
		}
	}
}

// After a loss with the QEMU fallback, every ARM build of the plan is routed to QEMU with the
// loss in its reason, and amd64 stays on the local engine.
func TestLostBuilderRoutesARMToQEMU(t *testing.T) {
	p, err := Make(Input{Ref: rules.Ref{Branch: "staging"}, Arm64: true, ARMBuilder: ARMEC2, Builder: BuilderFailed,
		BuilderWhy: "instance i-1 is terminated", Targets: targets("staging")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range p.Builds {
		switch b.Platform {
		case AMD64:
			if b.Builder != Local {
				t.Errorf("%s amd64 on %s", b.Target, b.Builder)
			}
		default:
			n++
			if b.Builder != QEMU || !strings.Contains(b.Why, "instance i-1 is terminated") {
				t.Errorf("%s %s after the loss: %s (%s)", b.Target, b.Platform, b.Builder, b.Why)
			}
		}
	}
	if n == 0 || len(p.BuildsOn(Remote)) != 0 {
		t.Errorf("ARM builds after the loss: %d, still remote: %d", n, len(p.BuildsOn(Remote)))
	}
}
