package awsapi

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"shipyard/internal/retry"
)

// APIError is a failure AWS answered: an error document of the EC2 or the STS query protocol,
// or a non-2xx answer that was no such document (Code is then "").
type APIError struct {
	// Action is the API action, e.g. RunInstances or AssumeRoleWithWebIdentity.
	Action string
	// Code is AWS's error code, e.g. InvalidInstanceID.NotFound ("" when the answer had none).
	Code string
	// Message is AWS's message, or the start of the body of an answer that was no error document.
	Message string
	// RequestID is AWS's request id ("" when the answer had none).
	RequestID string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
}

// Error returns e.g. "EC2 RunInstances: InsufficientInstanceCapacity: There is no capacity
// (HTTP 500, request id abc)".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(serviceOf(e.Action) + " " + e.Action + ": ")
	switch {
	case e.Code != "" && e.Message != "":
		b.WriteString(e.Code + ": " + e.Message)
	case e.Code != "":
		b.WriteString(e.Code)
	case e.Message != "":
		b.WriteString(e.Message)
	default:
		b.WriteString("empty error answer")
	}
	fmt.Fprintf(&b, " (HTTP %d", e.StatusCode)
	if e.RequestID != "" {
		b.WriteString(", request id " + e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// ErrorCode, ErrorMessage and ErrorFault make e a smithy.APIError, as the SDK's retryer reads
// one (a throttling code waits from a longer base delay).
func (e *APIError) ErrorCode() string    { return e.Code }
func (e *APIError) ErrorMessage() string { return e.Message }
func (e *APIError) ErrorFault() smithy.ErrorFault {
	if e.StatusCode >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// Unwrap tells internal/retry's Transient (callers outside this package, such as the console
// watch, decide with it) what the Client's own retryer decided: a *retry.StatusError 503 for
// what it retries, a *retry.StatusError with the answer's status for an answer without a
// code, and an error marked retry.Permanent for every other code.
func (e *APIError) Unwrap() error {
	switch {
	case e.Code != "" && e.retryable():
		return &retry.StatusError{Code: 503}
	case e.Code == "":
		return &retry.StatusError{Code: e.StatusCode}
	default:
		return retry.Permanent(errors.New(e.Error()))
	}
}

// CodeOf returns the Code of the first *APIError in err's chain, "" when there is none.
func CodeOf(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// serviceOf names the service of an action in error texts.
func serviceOf(action string) string {
	if strings.HasPrefix(action, "AssumeRole") || action == "GetCallerIdentity" {
		return "STS"
	}
	return "EC2"
}

// redact replaces every secret in s (empty ones ignored) with "[redacted]".
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// corrected is a failure the client corrected before trying again: it signed with the server's
// clock (clock skew) or fetched fresh credentials (expired ones). The retryer always retries it.
type corrected struct {
	err *APIError
	how string
}

func (c *corrected) Error() string { return c.err.Error() + " (" + c.how + ")" }
func (c *corrected) Unwrap() error { return c.err }
