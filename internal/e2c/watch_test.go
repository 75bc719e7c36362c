//go:build full

package e2c

import (
	"context"
	"strings"
	"testing"
	"time"

	"shipyard/internal/awsapi"
)

// A builder terminated (as a spot interruption or a terminate by hand does) or stopped in the
// middle of a build is noticed by the next poll, with the instance and its state in the reason;
// a running one is not reported.
func TestWatchLostNoticesTheBuilderGoing(t *testing.T) {
	for _, tc := range []struct {
		name string
		kill func(ctx context.Context, c *awsapi.Client, id string) error
		want string
	}{
		{"terminated", func(ctx context.Context, c *awsapi.Client, id string) error {
			_, err := c.TerminateInstances(ctx, id)
			return err
		}, "terminated"},
		{"stopped", func(ctx context.Context, c *awsapi.Client, id string) error {
			_, err := c.StopInstances(ctx, id)
			return err
		}, "stop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c, m, st := launchedBuilder(t)
			if why := m.Lost(ctx, st.InstanceID); why != "" {
				t.Fatalf("a running builder is reported lost: %s", why)
			}
			got := make(chan string, 1)
			wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			go func() { got <- m.WatchLost(wctx, st.InstanceID, 200*time.Millisecond) }()
			if err := tc.kill(ctx, c, st.InstanceID); err != nil {
				t.Fatal(err)
			}
			why := <-got
			if !strings.Contains(why, st.InstanceID) || !strings.Contains(why, tc.want) {
				t.Errorf("WatchLost after the builder was %s: %q, want the instance and %q", tc.name, why, tc.want)
			}
		})
	}
	t.Run("unknown instance", func(t *testing.T) {
		c := newMotoClient(t)
		m := NewManager(c, testConfig(t, c, StrategyTemplate), func(string) {})
		if why := m.Lost(context.Background(), "i-0123456789abcdef0"); !strings.Contains(why, "no longer exists") {
			t.Errorf("Lost of an unknown instance: %q", why)
		}
	})
	t.Run("running until cancelled", func(t *testing.T) {
		ctx := context.Background()
		_, m, st := launchedBuilder(t)
		wctx, cancel := context.WithCancel(ctx)
		got := make(chan string, 1)
		go func() { got <- m.WatchLost(wctx, st.InstanceID, 50*time.Millisecond) }()
		time.Sleep(500 * time.Millisecond) // several polls of a running instance
		cancel()
		if why := <-got; why != "" {
			t.Errorf("WatchLost of a running builder returned %q", why)
		}
	})
}

// launchedBuilder launches a template builder in moto, torn down when the test ends.
func launchedBuilder(t *testing.T) (*awsapi.Client, *Manager, State) {
	t.Helper()
	ctx := context.Background()
	c := newMotoClient(t)
	cfg := testConfig(t, c, StrategyTemplate)
	if err := cfg.Preflight(); err != nil {
		t.Fatal(err)
	}
	m := NewManager(c, cfg, func(string) {})
	st, err := m.Setup(ctx, func(State) error { return nil })
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() { _ = m.Teardown(ctx, st) })
	return c, m, st
}
