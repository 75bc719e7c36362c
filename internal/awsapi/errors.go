package awsapi

import (
	"errors"
	"fmt"
	"strings"

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

// throttlingCodes are the codes AWS gives when a caller goes too fast: worth another attempt
// whatever the status.
var throttlingCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "RequestLimitExceeded": true,
	"RequestThrottled": true, "TooManyRequestsException": true, "SlowDown": true,
	"EC2ThrottledException": true,
}

// unreachableCodes are failures of a service AWS depends on for this call, worth another attempt
// whatever the status: STS answers IDPCommunicationError (HTTP 400) when it could not reach the
// identity provider (GitLab's OIDC keys) in time.
var unreachableCodes = map[string]bool{"IDPCommunicationError": true}

// internalCodes are the codes of a failure on AWS's side: worth another attempt when they come
// with a 5xx status.
var internalCodes = map[string]bool{
	"InternalError": true, "InternalFailure": true, "InternalServerError": true,
	"ServiceUnavailable": true, "Unavailable": true,
}

// Unwrap tells retry.Transient what to do: a *retry.StatusError 503 for throttling and for
// AWS's internal failures, a *retry.StatusError with the answer's status for an answer without a
// code, and an error marked retry.Permanent for every other code. The code decides before the
// status: InsufficientInstanceCapacity comes with HTTP 500 and is not retried.
func (e *APIError) Unwrap() error {
	switch {
	case throttlingCodes[e.Code], unreachableCodes[e.Code], internalCodes[e.Code] && e.StatusCode >= 500:
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
