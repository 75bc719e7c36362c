// Package retry is the one place that decides whether a failure is worth
// another attempt and how long to wait before it.
//
// The decision is made by error type only (Transient): a *StatusError with a
// server-side or rate-limit status, a dropped or refused connection, a
// timeout. Errors of unknown type, and anything wrapped with Permanent, are
// not retried. Do never reads an error's text: an adapter whose failures
// arrive as text (the Dagger engine's publish errors) turns them into typed
// errors once, at its boundary, with FromEngineMessage.
package retry

import (
	"context"
	"fmt"
	"time"
)

// Policy is how often and how patiently Do tries.
type Policy struct {
	// Attempts is the total number of tries, the first one included; less than 1 means 1.
	Attempts int
	// BaseDelay is the wait after the first failure; each further wait doubles it.
	BaseDelay time.Duration
	// MaxDelay caps one wait; 0 means no cap.
	MaxDelay time.Duration
}

// Do runs fn until it succeeds, fails with an error Transient rejects, ctx
// ends or the attempts are spent, waiting BaseDelay·2^(n-1) (capped by
// MaxDelay) after the n-th failure. onRetry, when not nil, is told about
// every failure that will be retried: attempt is the 1-based number of the
// try that failed, delay the wait before the next one.
//
// When the attempts are spent the last error is returned wrapped as
// "giving up after N attempts: …" (unwrapped when Attempts is 1); when ctx
// ends while waiting, the error is ctx's and its text names the failure that
// was about to be retried.
func Do(ctx context.Context, p Policy, fn func(context.Context) error, onRetry func(attempt int, delay time.Duration, err error)) error {
	attempts := max(p.Attempts, 1)
	delay := max(p.BaseDelay, 0)
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || !Transient(err) || ctx.Err() != nil {
			return err
		}
		if attempt >= attempts {
			if attempts == 1 {
				return err
			}
			return fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		if onRetry != nil {
			onRetry(attempt, delay, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (while waiting to retry after: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay *= 2
		if p.MaxDelay > 0 {
			delay = min(delay, p.MaxDelay)
		}
	}
}

// Sleep waits for d, or until ctx ends (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
