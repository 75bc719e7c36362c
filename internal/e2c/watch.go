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

// EngineProbeEvery is how often a running build asks the builder's engine whether it still
// answers, EngineProbeFailures how many answers in a row it may miss before the builder counts as
// lost, and EngineProbeTimeout how long one question may take. With these an engine that dies
// mid-build is named within a minute (two waits and two timed-out questions: 50 s), while one slow answer on a loaded builder is not a
// loss.
const (
	EngineProbeEvery    = 10 * time.Second
	EngineProbeFailures = 2
	EngineProbeTimeout  = 15 * time.Second
)

// WatchEngine blocks until probe has failed failures times in a row, asked every every, and
// returns why (the last failure), or until ctx ends and returns "". An answer resets the count:
// a builder that misses one answer and then answers again is not lost.
func WatchEngine(ctx context.Context, every time.Duration, failures int, probe func(context.Context) error) string {
	missed := 0
	for {
		if sleep(ctx, every) != nil {
			return ""
		}
		err := probe(ctx)
		if ctx.Err() != nil {
			return ""
		}
		if err == nil {
			missed = 0
			continue
		}
		if missed++; missed >= failures {
			return fmt.Sprintf("its engine stopped answering (%d checks in a row, %s apart, failed; the last: %v)", missed, every, err)
		}
	}
}
