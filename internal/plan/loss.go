package plan

import "fmt"

// What a run does when its EC2 ARM builder is lost in the middle of a build (a spot
// interruption, the instance terminated or stopped by hand, its engine gone):
// --on-builder-loss / $E2C_ON_BUILDER_LOSS.
const (
	// LossQEMU builds the ARM images again with QEMU on the local engine (the default).
	LossQEMU = "qemu"
	// LossOnDemand launches one on-demand builder in its place and builds there (template
	// strategy; an existing instance cannot be replaced, so QEMU takes over).
	LossOnDemand = "on-demand"
	// LossFail fails the build stage.
	LossFail = "fail"
)

// LossAction is what the run does next after losing its builder.
type LossAction string

// Loss actions.
const (
	ActQEMU          LossAction = "qemu"
	ActRetryOnDemand LossAction = "retry-on-demand"
	ActFail          LossAction = "fail"
)

// checkLoss validates the setting ("" is the default).
func checkLoss(s string) error {
	switch s {
	case "", LossQEMU, LossOnDemand, LossFail:
		return nil
	}
	return fmt.Errorf("--on-builder-loss (E2C_ON_BUILDER_LOSS) %q: use %s, %s or %s", s, LossQEMU, LossOnDemand, LossFail)
}

// AfterLoss decides what follows the loss of the builder: setting is --on-builder-loss,
// strategy the builder's instance strategy (template or existing), retried whether this builder
// already was the on-demand replacement. The reason is for the log.
func AfterLoss(setting, strategy string, retried bool) (LossAction, string) {
	switch {
	case setting == LossFail:
		return ActFail, "E2C_ON_BUILDER_LOSS=fail"
	case setting == LossOnDemand && retried:
		return ActQEMU, "the on-demand replacement was lost too: QEMU on the local engine"
	case setting == LossOnDemand && strategy == "existing":
		return ActQEMU, "E2C_ON_BUILDER_LOSS=on-demand, but an existing instance cannot be replaced: QEMU on the local engine"
	case setting == LossOnDemand:
		return ActRetryOnDemand, "E2C_ON_BUILDER_LOSS=on-demand: one on-demand builder in its place"
	default:
		return ActQEMU, "E2C_ON_BUILDER_LOSS=qemu (the default): QEMU on the local engine"
	}
}
