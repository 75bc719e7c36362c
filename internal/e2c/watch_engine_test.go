package e2c

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// WatchEngine names the builder lost only after the given number of failed answers in a row; an
// answer in between resets the count, and an ended context is not a loss.
func TestWatchEngine(t *testing.T) {
	refused := errors.New("connection refused")
	for _, tc := range []struct {
		name     string
		answers  []error // the probe's answers in order; after them it answers nil and the watch is cancelled
		failures int
		lost     bool
		asked    int
	}{
		{name: "always answers", answers: []error{nil, nil, nil}, failures: 2, asked: 4},
		{name: "two misses in a row", answers: []error{nil, refused, refused}, failures: 2, lost: true, asked: 3},
		{name: "a miss, then an answer", answers: []error{refused, nil, refused, nil}, failures: 2, asked: 5},
		{name: "one miss is enough when asked so", answers: []error{refused}, failures: 1, lost: true, asked: 1},
		{name: "three needed, two given", answers: []error{refused, refused, nil, refused, refused}, failures: 3, asked: 6},
		{name: "three in a row", answers: []error{nil, refused, refused, refused}, failures: 3, lost: true, asked: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			asked := 0
			probe := func(context.Context) error {
				asked++
				if asked > len(tc.answers) {
					cancel() // past the scripted answers: end the watch as a finished build does
					return nil
				}
				return tc.answers[asked-1]
			}
			why := WatchEngine(ctx, time.Millisecond, tc.failures, probe)
			if tc.lost != (why != "") {
				t.Fatalf("lost = %q, want lost %v", why, tc.lost)
			}
			if tc.lost && (!strings.Contains(why, "its engine stopped answering") || !strings.Contains(why, "connection refused")) {
				t.Errorf("why = %q, want the engine named and the last failure", why)
			}
			if asked != tc.asked {
				t.Errorf("probe asked %d times, want %d", asked, tc.asked)
			}
		})
	}
}

// A probe that fails because the build ended (its context cancelled) is not a loss.
func TestWatchEngineEndsWithTheBuild(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	why := WatchEngine(ctx, time.Millisecond, 1, func(ctx context.Context) error {
		cancel()
		return ctx.Err()
	})
	if why != "" {
		t.Errorf("a watch ended by its build returned %q", why)
	}
}
