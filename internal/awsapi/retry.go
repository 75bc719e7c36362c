package awsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	sdkretry "github.com/aws/aws-sdk-go-v2/aws/retry"

	"shipyard/internal/retry"
)

// Retry is how a call is retried: the SDK's standard retryer decides what is worth another
// attempt and how long to wait (exponential backoff with full jitter, 1 s base for throttling,
// capped at MaxBackoff); Attempts bounds the tries.
type Retry struct {
	// Attempts is the total number of tries, the first one included; less than 1 means 1.
	Attempts int
	// MaxBackoff caps one wait (0: the SDK's 20 s).
	MaxBackoff time.Duration
	// Sleep waits d or until ctx ends (nil: a timer). Tests inject it to record the waits
	// instead of waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetry rides out a throttling storm: 25 attempts with waits of up to 10 s each (about
// 100 s in all for 20 throttled answers in a row, on average), so a burst of RequestLimitExceeded
// delays setup and teardown instead of failing them.
var DefaultRetry = Retry{Attempts: 25, MaxBackoff: 10 * time.Second}

// skewThreshold is how far the server's clock may be from the signing time before a signature
// error is taken for clock skew (the SDK's threshold; AWS refuses signatures 5 min off).
const skewThreshold = 4 * time.Minute

// skewCodes are the codes AWS gives a request signed at a time too far from its own.
var skewCodes = map[string]bool{
	"RequestTimeTooSkewed": true, "RequestExpired": true, "InvalidSignatureException": true,
	"SignatureDoesNotMatch": true, "AuthFailure": true,
}

// expiredCodes are the codes AWS gives a request signed with credentials that have expired.
var expiredCodes = map[string]bool{"ExpiredToken": true, "ExpiredTokenException": true, "RequestExpired": true}

// extraRetryCodes are worth another attempt besides the SDK's throttling codes: STS answers
// IDPCommunicationError (HTTP 400) when it could not reach the identity provider in time.
var extraRetryCodes = map[string]bool{"IDPCommunicationError": true}

// internalCodes are the codes of a failure on AWS's side: worth another attempt when they come
// with a 5xx status.
var internalCodes = map[string]bool{
	"InternalError": true, "InternalFailure": true, "InternalServerError": true,
	"ServiceUnavailable": true, "Unavailable": true,
}

// retryableStatus are the statuses of an answer without a code worth another attempt.
var retryableStatus = map[int]bool{429: true, 500: true, 502: true, 503: true, 504: true}

// ClockSkew tells, from a failed answer, the offset to sign with from now on: the server's time
// (its Date header) minus the local time at the answer, when the code is one AWS gives for a
// signature made at the wrong time and the server's clock is more than 4 minutes from the
// signing time (now + current). ok is false when the answer shows no skew to correct.
func ClockSkew(code, date string, now time.Time, current time.Duration) (skew time.Duration, ok bool) {
	if !skewCodes[code] || date == "" {
		return current, false
	}
	server, err := http.ParseTime(date)
	if err != nil {
		return current, false
	}
	skew = server.Sub(now).Truncate(time.Second)
	if (skew - current).Abs() <= skewThreshold {
		return current, false
	}
	return skew, true
}

// Retryable tells whether the SDK's standard retryer, as a Client configures it, tries again
// after err: throttling (the SDK's codes, RequestLimitExceeded among them), AWS's internal
// failures with a 5xx status, a 5xx or 429 answer without a code, a broken or refused
// connection, and an answer the client already corrected for (clock skew, expired
// credentials). The code decides before the status: InsufficientInstanceCapacity comes with
// HTTP 500 and is not retried.
func Retryable(err error) bool { return newRetryer(DefaultRetry).IsErrorRetryable(err) }

// apiErrorRetryable classifies an *APIError; anything else is left to the SDK's checks.
func apiErrorRetryable(err error) aws.Ternary {
	var c *corrected
	if errors.As(err, &c) {
		return aws.TrueTernary
	}
	var e *APIError
	if !errors.As(err, &e) {
		return aws.UnknownTernary
	}
	return aws.BoolTernary(e.retryable())
}

// retryable tells whether AWS's answer e is worth another attempt as it is.
func (e *APIError) retryable() bool {
	_, throttle := sdkretry.DefaultThrottleErrorCodes[e.Code]
	switch {
	case throttle, extraRetryCodes[e.Code], internalCodes[e.Code] && e.StatusCode >= 500:
		return true
	case e.Code != "":
		return false
	}
	return retryableStatus[e.StatusCode]
}

// newRetryer is the SDK's standard retryer with r's attempts and backoff cap, this package's
// classification of AWS's answers, and no client-side retry quota: a long throttling storm must
// not exhaust a token bucket shared by setup and the loss watch.
func newRetryer(r Retry) *sdkretry.Standard {
	return sdkretry.NewStandard(func(o *sdkretry.StandardOptions) {
		o.MaxAttempts = max(r.Attempts, 1)
		if r.MaxBackoff > 0 {
			o.MaxBackoff = r.MaxBackoff
		}
		o.RateLimiter = ratelimit.None
		o.Retryables = []sdkretry.IsErrorRetryable{
			sdkretry.NoRetryCanceledError{},
			sdkretry.IsErrorRetryableFunc(apiErrorRetryable),
			sdkretry.RetryableConnectionError{},
		}
	})
}

// do runs fn until it succeeds, fails with an error the retryer does not retry, ctx ends or the
// attempts are spent, waiting the retryer's backoff in between. When the attempts are spent the
// last error is returned as "giving up after N attempts: …"; when ctx ends while waiting, the
// error is ctx's and names the failure that was about to be retried.
func (r Retry) do(ctx context.Context, fn func(ctx context.Context, attempt int) error) error {
	retryer := newRetryer(r)
	sleep := r.Sleep
	if sleep == nil {
		sleep = retry.Sleep
	}
	for attempt := 1; ; attempt++ {
		err := fn(ctx, attempt)
		if err == nil || ctx.Err() != nil || !retryer.IsErrorRetryable(err) {
			return err
		}
		if attempt >= retryer.MaxAttempts() {
			if attempt == 1 {
				return err
			}
			return fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			return err
		}
		if serr := sleep(ctx, delay); serr != nil {
			return fmt.Errorf("%w (while waiting to retry after: %v)", serr, err)
		}
	}
}
