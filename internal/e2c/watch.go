package e2c

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// WatchEvery is how often a running build asks EC2 whether its builder still runs: a spot
// interruption or a terminate by hand is noticed within this (plus one API call).
const WatchEvery = 10 * time.Second

// Lost tells whether the builder instance id no longer runs, and why ("" while it runs). An API
// error other than "no such instance" is not a loss: EC2 may be slow to answer while the
// instance builds on.
func (m *Manager) Lost(ctx context.Context, id string) string {
	inst, err := m.describe(ctx, id)
	switch {
	case apiCode(err) == codeNotFound:
		return fmt.Sprintf("instance %s no longer exists", id)
	case err != nil:
		return ""
	}
	switch s := stateOf(inst); {
	case s == types.InstanceStateNameRunning || s == types.InstanceStateNamePending:
		return ""
	default:
		why := fmt.Sprintf("instance %s is %s", id, s)
		if inst.StateReason != nil && inst.StateReason.Message != nil {
			why += " (" + *inst.StateReason.Message + ")"
		}
		return why
	}
}

// WatchLost blocks until the builder instance id stops running (a spot interruption, a
// terminate or stop by hand) and returns why, or until ctx ends and returns "".
func (m *Manager) WatchLost(ctx context.Context, id string, every time.Duration) string {
	for {
		if sleep(ctx, every) != nil {
			return ""
		}
		if why := m.Lost(ctx, id); why != "" {
			return why
		}
	}
}
