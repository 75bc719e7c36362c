package e2c

import (
	"context"
	"strings"
	"testing"
	"time"
)

var (
	answered = EngineProbe{Answer: EngineAnswered}
	refused  = EngineProbe{Answer: EngineRefused, Detail: "dial unix /run/dagger/engine.sock: connect: connection refused"}
	silent   = EngineProbe{Answer: EngineSilent, Detail: "no answer within the probe's time"}
)

// WatchEngine names the builder lost after the given number of refusals in a row, or after the
// given number of questions in a row without an answer; an answer in between resets both, and a
// silent builder (busy, slow SSH) is given far longer than one that refuses.
func TestWatchEngine(t *testing.T) {
	for _, tc := range []struct {
		name              string
		answers           []EngineProbe // in order; after them the probe ends the watch, as a finished build does
		refusals, silence int
		why               string // "" when not lost
		asked             int
	}{
		{name: "always answers", answers: []EngineProbe{answered, answered, answered}, refusals: 2, silence: 4, asked: 4},
		{name: "two refusals in a row", answers: []EngineProbe{answered, refused, refused}, refusals: 2, silence: 4,
			why: "its engine is gone (2 checks in a row, 1ms apart, were refused; the last: dial unix /run/dagger/engine.sock: connect: connection refused)", asked: 3},
		{name: "a refusal, then an answer", answers: []EngineProbe{refused, answered, refused, answered}, refusals: 2, silence: 4, asked: 5},
		{name: "one refusal is enough when asked so", answers: []EngineProbe{refused}, refusals: 1, silence: 4, why: "its engine is gone", asked: 1},
		{name: "a silence between refusals restarts the count", answers: []EngineProbe{refused, silent, refused, answered}, refusals: 2, silence: 4, asked: 5},
		{name: "a busy builder is silent, not gone", answers: []EngineProbe{silent, silent, silent, answered, silent, silent, silent}, refusals: 2, silence: 4, asked: 8},
		{name: "silent for too long", answers: []EngineProbe{answered, silent, silent, silent, silent}, refusals: 2, silence: 4,
			why: "its engine stopped answering (4 checks in a row, 1ms apart, got no answer; the last: no answer within the probe's time)", asked: 5},
		{name: "refusals count toward the silence", answers: []EngineProbe{silent, refused, silent, refused}, refusals: 2, silence: 4, why: "its engine stopped answering (4 checks", asked: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			asked := 0
			probe := func(context.Context) EngineProbe {
				asked++
				if asked > len(tc.answers) {
					cancel()
					return answered
				}
				return tc.answers[asked-1]
			}
			why := WatchEngine(ctx, time.Millisecond, tc.refusals, tc.silence, probe)
			if (tc.why == "") != (why == "") || !strings.HasPrefix(why, tc.why) {
				t.Fatalf("why = %q, want %q", why, tc.why)
			}
			if asked != tc.asked {
				t.Errorf("probe asked %d times, want %d", asked, tc.asked)
			}
		})
	}
}

// A probe cut short because the build ended (its context cancelled) is not a loss.
func TestWatchEngineEndsWithTheBuild(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	why := WatchEngine(ctx, time.Millisecond, 1, 1, func(ctx context.Context) EngineProbe {
		cancel()
		return refused
	})
	if why != "" {
		t.Errorf("a watch ended by its build returned %q", why)
	}
}

// The probe command's exit code and stderr tell a dead engine (the dial fails on the builder) from
// a silent one (timeout, SSH trouble) and from a live one.
func TestEngineProbeResult(t *testing.T) {
	for _, tc := range []struct {
		exit   int
		stderr string
		want   EngineProbe
	}{
		{0, "", answered},
		{124, "", EngineProbe{EngineSilent, "no answer within the probe's time"}},
		{255, "ssh: connect to host 10.99.0.2 port 22: Connection timed out\r\n", EngineProbe{EngineSilent, "ssh: connect to host 10.99.0.2 port 22: Connection timed out"}},
		{255, "", EngineProbe{EngineSilent, "no answer over SSH"}},
		{1, "Error: dial unix /run/dagger/engine.sock: connect: connection refused\n", EngineProbe{EngineRefused, "Error: dial unix /run/dagger/engine.sock: connect: connection refused"}},
		{1, "Error: dial unix /run/dagger/engine.sock: connect: no such file or directory\nUsage:\n  dial-stdio [flags]\n", EngineProbe{EngineRefused, "Error: dial unix /run/dagger/engine.sock: connect: no such file or directory"}},
		{127, "", EngineProbe{EngineRefused, "the dial helper exited 127"}},
	} {
		if got := EngineProbeResult(tc.exit, tc.stderr); got != tc.want {
			t.Errorf("EngineProbeResult(%d, %q) = %+v, want %+v", tc.exit, tc.stderr, got, tc.want)
		}
	}
}
