//go:build full

package e2c

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTeardownTemplateTwice(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)
	cfg := testConfig(t, c, StrategyTemplate)
	var ll logLines
	m := NewManager(c, cfg, ll.add)
	s, err := m.Setup(ctx, nil)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	for i := range 2 {
		if err := m.Teardown(ctx, s); err != nil {
			t.Fatalf("Teardown #%d: %v", i+1, err)
		}
		if got := instance(t, c, s.InstanceID).State; got != stateTerminated {
			t.Fatalf("after teardown #%d the instance is %s, want terminated", i+1, got)
		}
	}
	ll.expect(t, "was already terminated", 1)
}

func TestTeardownMissingInstance(t *testing.T) {
	c := newMotoClient(t)
	for _, strategy := range []string{StrategyTemplate, StrategyExisting} {
		t.Run(strategy, func(t *testing.T) {
			cfg := testConfig(t, c, strategy)
			var ll logLines
			m := NewManager(c, cfg, ll.add)
			missing := State{InstanceID: "i-0123456789abcdef0", Strategy: strategy, JobID: cfg.JobID}
			if err := m.Teardown(context.Background(), missing); err != nil {
				t.Fatalf("Teardown of an unknown instance: %v", err)
			}
			ll.expect(t, "i-0123456789abcdef0 does not exist any more", 1)
		})
	}
}

// TestTeardownRefusesForeignInstance: a state file naming an instance this project did not launch
// (here an untagged one) leaves it running; owned_test.go covers the rule case by case.
func TestTeardownRefusesForeignInstance(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)
	foreign := stoppedInstance(t, c)
	if _, err := c.StartInstances(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.TerminateInstances(context.Background(), foreign) })
	m := NewManager(c, testConfig(t, c, StrategyTemplate), nil)
	err := m.Teardown(ctx, State{InstanceID: foreign, Strategy: StrategyTemplate})
	if err == nil || !strings.Contains(err.Error(), "refusing to terminate instance "+foreign) || !strings.Contains(err.Error(), TagManagedBy) {
		t.Errorf("Teardown of an untagged instance = %v, want a refusal naming it and the missing %s tag", err, TagManagedBy)
	}
	if got := instance(t, c, foreign).State; got != stateRunning {
		t.Errorf("the foreign instance is %s, want running", got)
	}
}

func TestTeardownJob(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)
	tests := []struct {
		strategy  string
		launch    func(*Manager, context.Context) (State, error)
		wantAfter string
	}{
		{StrategyTemplate, (*Manager).launchFromTemplate, stateTerminated},
		{StrategyExisting, (*Manager).startExisting, stateStopped},
	}
	for _, tt := range tests {
		t.Run(tt.strategy, func(t *testing.T) {
			cfg := testConfig(t, c, tt.strategy)
			m := NewManager(c, cfg, nil)
			// The job died right after the launch call: no state file, only the tags.
			s, err := tt.launch(m, ctx)
			if err != nil {
				t.Fatalf("launch: %v", err)
			}
			// Another job of the same project must survive.
			otherCfg := cfg
			otherCfg.Strategy, otherCfg.JobID, otherCfg.LaunchTemplateID = StrategyTemplate, cfg.JobID+"0", armTemplate(t)
			other, err := NewManager(c, otherCfg, nil).Setup(ctx, nil)
			if err != nil {
				t.Fatalf("Setup of the other job: %v", err)
			}
			t.Cleanup(func() { _ = m.Teardown(context.Background(), other) })

			n, err := m.TeardownJob(ctx, cfg.JobID)
			if err != nil || n != 1 {
				t.Fatalf("TeardownJob = %d, %v; want 1, nil", n, err)
			}
			if got := instance(t, c, s.InstanceID).State; got != tt.wantAfter {
				t.Errorf("job's instance is %s, want %s", got, tt.wantAfter)
			}
			if got := instance(t, c, other.InstanceID).State; got != stateRunning {
				t.Errorf("other job's instance is %s, want running", got)
			}
			n, err = m.TeardownJob(ctx, cfg.JobID)
			if err != nil || n != 0 {
				t.Errorf("second TeardownJob = %d, %v; want 0, nil", n, err)
			}
		})
	}
}

func TestReap(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)
	base := testConfig(t, c, StrategyTemplate)
	launch := func(jobID string, strategy string, ttl time.Duration) State {
		t.Helper()
		cfg := base
		cfg.JobID, cfg.TTL, cfg.Strategy = jobID, ttl, strategy
		if strategy == StrategyExisting {
			cfg.InstanceID = stoppedInstance(t, c)
		}
		s, err := NewManager(c, cfg, nil).Setup(ctx, nil)
		if err != nil {
			t.Fatalf("Setup %s: %v", jobID, err)
		}
		return s
	}
	expired := launch("1", StrategyTemplate, time.Minute)
	fresh := launch("2", StrategyTemplate, 3*time.Hour)
	existing := launch("3", StrategyExisting, time.Minute)
	otherProject := func() State {
		cfg := base
		cfg.Project, cfg.JobID, cfg.TTL = base.Project+"-other", "4", time.Minute
		s, err := NewManager(c, cfg, nil).Setup(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	unmanaged := stoppedInstance(t, c)
	if _, err := c.StartInstances(ctx, unmanaged); err != nil {
		t.Fatal(err)
	}
	m := NewManager(c, base, nil)
	t.Cleanup(func() {
		// not m.Teardown: it refuses the other project's instance and the unmanaged one
		_, _ = c.TerminateInstances(context.Background(), fresh.InstanceID, otherProject.InstanceID, unmanaged)
	})

	reaped, err := m.Reap(ctx, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatalf("Reap: %v", err)
	}
	want := []string{expired.InstanceID, existing.InstanceID}
	slices.Sort(want)
	if diff := cmp.Diff(want, reaped); diff != "" {
		t.Errorf("reaped (-want +got):\n%s", diff)
	}
	wantStates := map[string]string{
		"expired":       stateTerminated,
		"existing":      stateStopped, // stopped, never terminated
		"fresh":         stateRunning,
		"other project": stateRunning,
		"unmanaged":     stateRunning,
	}
	gotStates := map[string]string{}
	for name, id := range map[string]string{
		"expired": expired.InstanceID, "existing": existing.InstanceID, "fresh": fresh.InstanceID,
		"other project": otherProject.InstanceID, "unmanaged": unmanaged,
	} {
		gotStates[name] = instance(t, c, id).State
	}
	if diff := cmp.Diff(wantStates, gotStates); diff != "" {
		t.Errorf("instance states after Reap (-want +got):\n%s", diff)
	}

	// Nothing more is due: a second pass changes nothing.
	again, err := m.Reap(ctx, time.Now().Add(time.Hour))
	if err != nil || len(again) != 0 {
		t.Errorf("second Reap = %v, %v; want nothing", again, err)
	}
}

func TestCleanup(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)

	t.Run("with state file", func(t *testing.T) {
		cfg := testConfig(t, c, StrategyTemplate)
		m := NewManager(c, cfg, nil)
		path := filepath.Join(t.TempDir(), StateFileName(cfg.JobID))
		s, err := m.Setup(ctx, func(s State) error { return WriteState(path, s) })
		if err != nil {
			t.Fatalf("Setup: %v", err)
		}
		n, err := m.Cleanup(ctx, path, cfg.JobID)
		if err != nil || n != 1 {
			t.Fatalf("Cleanup = %d, %v; want 1, nil", n, err)
		}
		if got := instance(t, c, s.InstanceID).State; got != stateTerminated {
			t.Errorf("instance is %s, want terminated", got)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("state file still there after cleanup (stat: %v)", err)
		}
	})

	t.Run("without state file", func(t *testing.T) {
		cfg := testConfig(t, c, StrategyExisting)
		cfg.SettleDelay = time.Millisecond
		var ll logLines
		m := NewManager(c, cfg, ll.add)
		if _, err := m.startExisting(ctx); err != nil {
			t.Fatalf("startExisting: %v", err)
		}
		n, err := m.Cleanup(ctx, filepath.Join(t.TempDir(), StateFileName(cfg.JobID)), cfg.JobID)
		if err != nil || n != 1 {
			t.Fatalf("Cleanup = %d, %v; want 1, nil", n, err)
		}
		if got := instance(t, c, cfg.InstanceID).State; got != stateStopped {
			t.Errorf("existing instance is %s, want stopped", got)
		}
		ll.expect(t, "no state file", 1)
	})
}
