package retry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// trace is how often Do called fn, and what it told onRetry.
type trace struct {
	calls   int
	retries []string // "attempt delay"
}

func TestDo(t *testing.T) {
	transient := &StatusError{Code: 503}
	permanent := &StatusError{Code: 403}
	tests := []struct {
		name    string
		policy  Policy
		errs    []error // what fn returns on each call; past the end, nil
		wantErr string  // "" for success
		want    trace
	}{
		{"success at once", Policy{Attempts: 4, BaseDelay: time.Millisecond}, nil, "",
			trace{calls: 1}},
		{"two transient failures then success", Policy{Attempts: 4, BaseDelay: time.Millisecond}, []error{transient, transient}, "",
			trace{calls: 3, retries: []string{"1 1ms", "2 2ms"}}},
		{"permanent failure is not retried", Policy{Attempts: 4, BaseDelay: time.Millisecond}, []error{permanent}, "HTTP 403 Forbidden",
			trace{calls: 1}},
		{"unknown error is not retried", Policy{Attempts: 4, BaseDelay: time.Millisecond}, []error{errors.New("bad Dockerfile")}, "bad Dockerfile",
			trace{calls: 1}},
		{"attempts spent", Policy{Attempts: 4, BaseDelay: time.Millisecond}, []error{transient, transient, transient, transient, transient},
			"giving up after 4 attempts: HTTP 503 Service Unavailable",
			trace{calls: 4, retries: []string{"1 1ms", "2 2ms", "3 4ms"}}},
		{"delay capped", Policy{Attempts: 4, BaseDelay: time.Millisecond, MaxDelay: 3 * time.Millisecond}, []error{transient, transient, transient}, "",
			trace{calls: 4, retries: []string{"1 1ms", "2 2ms", "3 3ms"}}},
		{"one attempt returns the error as is", Policy{Attempts: 1, BaseDelay: time.Millisecond}, []error{transient}, "HTTP 503 Service Unavailable",
			trace{calls: 1}},
		{"zero attempts means one", Policy{}, []error{transient, transient}, "HTTP 503 Service Unavailable",
			trace{calls: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got trace
			err := Do(context.Background(), tt.policy, func(context.Context) error {
				got.calls++
				if got.calls <= len(tt.errs) {
					return tt.errs[got.calls-1]
				}
				return nil
			}, func(attempt int, delay time.Duration, err error) {
				got.retries = append(got.retries, fmt.Sprintf("%d %s", attempt, delay))
				if !Transient(err) {
					t.Errorf("onRetry told about a permanent error %v", err)
				}
			})
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(trace{})); diff != "" {
				t.Errorf("calls and retries (-want +got):\n%s", diff)
			}
			if tt.wantErr != "" && len(tt.errs) > 0 && !errors.Is(err, tt.errs[0]) {
				t.Errorf("error %v does not wrap the failure %v", err, tt.errs[0])
			}
		})
	}
}

func TestDoStopsWhenTheContextEnds(t *testing.T) {
	t.Run("while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		start := time.Now()
		err := Do(ctx, Policy{Attempts: 5, BaseDelay: time.Hour}, func(context.Context) error {
			calls++
			return &StatusError{Code: 503}
		}, func(int, time.Duration, error) { cancel() })
		if !errors.Is(err, context.Canceled) || calls != 1 || time.Since(start) > time.Minute {
			t.Fatalf("Do = %v after %d calls, want context.Canceled after 1 call and no wait", err, calls)
		}
		if !strings.Contains(err.Error(), "while waiting to retry after: HTTP 503 Service Unavailable") {
			t.Errorf("error %q does not name the failure it was about to retry", err)
		}
	})
	t.Run("during a call", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		err := Do(ctx, Policy{Attempts: 5, BaseDelay: time.Millisecond}, func(context.Context) error {
			calls++
			cancel()
			return &StatusError{Code: 503}
		}, nil)
		if calls != 1 || !Transient(err) {
			t.Fatalf("Do = %v after %d calls, want the call's own error after 1 call", err, calls)
		}
	})
}
