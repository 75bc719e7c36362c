package e2c

import (
	"context"
	"fmt"
	"strings"
	"time"
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
	switch inst.State {
	case stateRunning, statePending:
		return ""
	default:
		return fmt.Sprintf("instance %s is %s%s", id, inst.State, reasonOf(inst))
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

// EngineProbeEvery is how often a running build asks the builder whether its engine is still
// there, EngineProbeRefusals how many refusals in a row make the builder lost, EngineProbeSilence
// how many questions in a row may go without any answer before it is lost all the same, and
// EngineProbeTimeout how long one question may take. The question is a connection to the
// engine's socket over SSH, which the kernel accepts however busy the engine is: a dead engine
// refuses it at once (named within about 30 s: two waits and two quick refusals), while a builder
// too loaded to answer in time is only silent, and gets minutes (EngineProbeSilence questions of
// up to EngineProbeTimeout each, EngineProbeEvery apart) before it counts as lost.
const (
	EngineProbeEvery    = 10 * time.Second
	EngineProbeRefusals = 2
	EngineProbeSilence  = 12
	EngineProbeTimeout  = 20 * time.Second
	// EngineProbeStartSlack is how long this machine's own engine may take to start the probe's
	// container on top of EngineProbeTimeout: on a busy 2-core runner that alone took over 40 s,
	// and the probe then failed "did not run here" though the builder was fine. The builder's
	// answer stays bounded by EngineProbeTimeout, inside the container.
	EngineProbeStartSlack = 2 * time.Minute
)

// EngineAnswer is what one question to the builder's engine got.
type EngineAnswer int

const (
	// EngineAnswered: the engine's socket took the connection.
	EngineAnswered EngineAnswer = iota
	// EngineRefused: the builder answered that its engine is not there (nothing listens on the
	// socket, the socket or the dial helper is gone).
	EngineRefused
	// EngineSilent: no answer in time (SSH or the builder too slow, the question timed out):
	// says nothing about the engine.
	EngineSilent
)

// EngineProbe is one question's answer and, when it is not EngineAnswered, what was seen.
type EngineProbe struct {
	Answer EngineAnswer
	Detail string
}

// Exit codes of the probe command: timeout(1)'s when the question took too long, ssh's own when
// SSH failed (the remote command's code otherwise).
const (
	probeTimedOut = 124
	probeSSHError = 255
)

// EngineProbeResult classifies the probe command `timeout T ssh … buildctl --addr unix://SOCKET
// dial-stdio </dev/null` by its exit code and stderr. The dial helper exits 0 once the engine has
// taken and closed the connection; a timeout while connected also means the socket took it.
// Only a quick failure of the dial on the builder itself is a refusal.
func EngineProbeResult(exit int, stderr string) EngineProbe {
	detail := strings.TrimSpace(stderr)
	switch exit {
	case 0:
		return EngineProbe{Answer: EngineAnswered}
	case probeTimedOut:
		return EngineProbe{Answer: EngineSilent, Detail: "no answer within the probe's time"}
	case probeSSHError:
		return EngineProbe{Answer: EngineSilent, Detail: SSHFailureReason(detail)}
	}
	if detail == "" {
		detail = fmt.Sprintf("the dial helper exited %d", exit)
	}
	return EngineProbe{Answer: EngineRefused, Detail: errorLine(detail)}
}

// errorLine is the dial helper's "Error: …" line (its usage text may follow), else stderr's last line.
func errorLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "Error:") {
			return l
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// WatchEngine asks probe every every until refusals refusals in a row, or silence questions in a
// row without an answer (refusals included), and returns why the builder is lost; it returns ""
// once ctx ends. An answer resets both counts: a builder that is slow for a while and then
// answers again is not lost.
func WatchEngine(ctx context.Context, every time.Duration, refusals, silence int, probe func(context.Context) EngineProbe) string {
	refused, unanswered := 0, 0
	for {
		if sleep(ctx, every) != nil {
			return ""
		}
		p := probe(ctx)
		if ctx.Err() != nil {
			return ""
		}
		switch p.Answer {
		case EngineAnswered:
			refused, unanswered = 0, 0
			continue
		case EngineRefused:
			refused++
		default:
			refused = 0
		}
		unanswered++
		switch {
		case refused >= refusals:
			return fmt.Sprintf("its engine is gone (%d checks in a row, %s apart, were refused; the last: %s)", refused, every, p.Detail)
		case unanswered >= silence:
			return fmt.Sprintf("its engine stopped answering (%d checks in a row, %s apart, got no answer; the last: %s)", unanswered, every, p.Detail)
		}
	}
}
