package e2c

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/plan"
)

func TestSetupVerdict(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		state plan.BuilderState
		why   string
		fail  string
	}{
		{"ready", nil, plan.BuilderReady, "", ""},
		{"no capacity anywhere", fmt.Errorf("launching from lt-1: %w", ErrNoCapacity), plan.BuilderNoCapacity, "no EC2 capacity", ""},
		{"anything else", fmt.Errorf("waiting for i-1: %w", ErrTimeout), "", "", "setting up the ARM builder: waiting for i-1: timed out"},
	}
	for _, tt := range tests {
		state, why, err := SetupVerdict(tt.err)
		if state != tt.state || why != tt.why || (err == nil) != (tt.fail == "") || err != nil && !strings.HasPrefix(err.Error(), tt.fail) {
			t.Errorf("%s: %q %q %v; want %q %q and an error starting %q", tt.name, state, why, err, tt.state, tt.why, tt.fail)
		}
	}
}

func TestBuildFailure(t *testing.T) {
	buildErr := errors.New("remote build [linux/arm64] on EC2 builder i-1: exit code 1")
	lostByWatcher := &BuilderLost{ID: "i-1", Why: "its instance is stopping"}
	unreachable := &BuilderUnreachable{Err: errors.New("the builder's engine at 203.0.113.5:22 is unreachable within 30s")}
	tests := []struct {
		name          string
		err, cause    error
		stopped       bool
		instanceLost  string
		engineAnswers error
		asked         []string // which questions were asked, in order
		want          string   // the error's text ("" for nil)
		lost          bool     // a *BuilderLost
		unreachable   bool     // wraps the *BuilderUnreachable
	}{
		{name: "the build passed"},
		{name: "a watcher saw the builder go", err: buildErr, cause: lostByWatcher,
			want: "the EC2 ARM builder i-1 was lost in the build phase: its instance is stopping", lost: true},
		{name: "the caller stopped the build", err: buildErr, stopped: true, want: buildErr.Error()},
		{name: "EC2 says the instance is gone", err: buildErr, instanceLost: "it was terminated (Server.SpotInstanceTermination)",
			asked: []string{"instance"}, want: "the EC2 ARM builder i-1 was lost in the build phase: it was terminated (Server.SpotInstanceTermination)", lost: true},
		{name: "never reachable although the instance runs", err: unreachable, asked: []string{"instance"},
			want: "the builder's engine at 203.0.113.5:22 is unreachable within 30s; the instance i-1 runs, so its set-up is wrong: nothing was built there, and no fallback hides it", unreachable: true},
		{name: "the engine stopped answering", err: buildErr, engineAnswers: errors.New("unreachable within 30s"), asked: []string{"instance", "engine"},
			want: "the EC2 ARM builder i-1 was lost in the build phase: its engine stopped answering (unreachable within 30s) after: " + buildErr.Error(), lost: true},
		{name: "the build itself failed", err: buildErr, asked: []string{"instance", "engine"}, want: buildErr.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked []string
			err := BuildFailure("i-1", tt.err, tt.cause, tt.stopped,
				func() string { asked = append(asked, "instance"); return tt.instanceLost },
				func() error { asked = append(asked, "engine"); return tt.engineAnswers })
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("error %q, want %q", got, tt.want)
			}
			var lost *BuilderLost
			var unreach *BuilderUnreachable
			if errors.As(err, &lost) != tt.lost || errors.As(err, &unreach) != tt.unreachable {
				t.Errorf("lost %v unreachable %v, want %v %v", errors.As(err, &lost), errors.As(err, &unreach), tt.lost, tt.unreachable)
			}
			if diff := cmp.Diff(tt.asked, asked); diff != "" {
				t.Errorf("questions asked (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildOnBuilder(t *testing.T) {
	lost := func(why string) error { return &BuilderLost{ID: "i-1", Why: why} }
	failed := errors.New("remote build failed: exit code 1")
	type replaced struct {
		state plan.BuilderState
		why   string
		err   error
	}
	tests := []struct {
		name              string
		setting, strategy string
		builds            []error    // what each build returns, in turn
		replaces          []replaced // what each replacement returns, in turn
		lost              string     // the loss QEMU takes over from ("": none)
		err               string     // the error the stage fails with ("": none)
		logs              []string   // substrings of the lines logged, in order
	}{
		{name: "the builds pass", builds: []error{nil}},
		{name: "a build fails: no fallback hides it", builds: []error{failed}, err: failed.Error()},
		{name: "lost, qemu (the default)", strategy: StrategyTemplate, builds: []error{lost("spot interruption")},
			lost: "spot interruption", logs: []string{"E2C_ON_BUILDER_LOSS=qemu (the default)"}},
		{name: "lost, fail", setting: plan.LossFail, strategy: StrategyTemplate, builds: []error{lost("spot interruption")},
			err:  "the EC2 ARM builder i-1 was lost in the build phase: spot interruption (--on-builder-loss=fail; qemu or on-demand would carry on)",
			logs: []string{"E2C_ON_BUILDER_LOSS=fail"}},
		{name: "lost, on-demand in its place, which builds them", setting: plan.LossOnDemand, strategy: StrategyTemplate,
			builds: []error{lost("spot interruption"), nil}, replaces: []replaced{{state: plan.BuilderReady}},
			logs: []string{"one on-demand builder in its place"}},
		{name: "lost, and the on-demand one lost too", setting: plan.LossOnDemand, strategy: StrategyTemplate,
			builds: []error{lost("spot interruption"), lost("terminated")}, replaces: []replaced{{state: plan.BuilderReady}},
			lost: "terminated", logs: []string{"one on-demand builder in its place", "the on-demand replacement was lost too"}},
		{name: "lost, no on-demand capacity", setting: plan.LossOnDemand, strategy: StrategyTemplate,
			builds: []error{lost("spot interruption")}, replaces: []replaced{{state: plan.BuilderNoCapacity, why: "no EC2 capacity"}},
			lost: "spot interruption; no on-demand builder in its place: no EC2 capacity"},
		{name: "lost, and the on-demand one fails to set up", setting: plan.LossOnDemand, strategy: StrategyTemplate,
			builds: []error{lost("spot interruption")}, replaces: []replaced{{err: errors.New("setting up the ARM builder: timed out")}},
			err: "spot interruption; the on-demand builder in its place failed too: setting up the ARM builder: timed out"},
		{name: "lost, on-demand, but an existing instance cannot be replaced", setting: plan.LossOnDemand, strategy: StrategyExisting,
			builds: []error{lost("stopped by hand")}, lost: "stopped by hand", logs: []string{"an existing instance cannot be replaced"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var builds, replaces int
			var logs []string
			gotLost, err := BuildOnBuilder(tt.setting, tt.strategy,
				func() error { builds++; return tt.builds[builds-1] },
				func() (plan.BuilderState, string, error) {
					replaces++
					r := tt.replaces[replaces-1]
					return r.state, r.why, r.err
				},
				func(f string, args ...any) { logs = append(logs, fmt.Sprintf(f, args...)) })
			if builds != len(tt.builds) || replaces != len(tt.replaces) {
				t.Errorf("%d builds and %d replacements, want %d and %d", builds, replaces, len(tt.builds), len(tt.replaces))
			}
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want one with %q", err, tt.err)
				}
			case err != nil:
				t.Errorf("error %v", err)
			}
			if got := ""; gotLost != nil || tt.lost != "" {
				if gotLost != nil {
					got = gotLost.Why
				}
				if got != tt.lost {
					t.Errorf("QEMU takes over from %q, want %q", got, tt.lost)
				}
			}
			at := 0
			for _, want := range tt.logs {
				for at < len(logs) && !strings.Contains(logs[at], want) {
					at++
				}
				if at == len(logs) {
					t.Errorf("no line with %q (in order) in %q", want, logs)
					break
				}
				at++
			}
		})
	}
}

func TestTearDownAll(t *testing.T) {
	tests := []struct {
		name        string
		st          State
		teardownErr error
		tagged      int
		tagErr      error
		calls       []string
		lines       []string
	}{
		{name: "the state's instance, then by job tag", st: State{InstanceID: "i-1"}, tagged: 0,
			calls: []string{"teardown i-1", "tag 7"}, lines: []string{"e2c: teardown: builder of job 7 torn down (0 found by job tag)"}},
		{name: "no state: by job tag only", tagged: 1,
			calls: []string{"tag 7"}, lines: []string{"e2c: teardown: builder of job 7 torn down (1 found by job tag)"}},
		{name: "the state's instance fails: by job tag all the same", st: State{InstanceID: "i-1"}, teardownErr: errors.New("throttled"), tagged: 1,
			calls: []string{"teardown i-1", "tag 7"},
			lines: []string{"e2c: teardown of i-1 failed: throttled; searching by job tag", "e2c: teardown: builder of job 7 torn down (1 found by job tag)"}},
		{name: "the search by tag fails: the reaper is the last resort", tagErr: errors.New("throttled"),
			calls: []string{"tag 7"},
			lines: []string{"e2c: WARNING: teardown by job tag 7 failed: throttled (the next run's reaper terminates it after its TTL)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls, lines []string
			TearDownAll(tt.st, "7",
				func(st State) error { calls = append(calls, "teardown "+st.InstanceID); return tt.teardownErr },
				func(job string) (int, error) { calls = append(calls, "tag "+job); return tt.tagged, tt.tagErr },
				func(f string, args ...any) { lines = append(lines, fmt.Sprintf(f, args...)) })
			if diff := cmp.Diff(tt.calls, calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.lines, lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}
