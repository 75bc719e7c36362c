package retry

import (
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// The shapes in which an HTTP status appears in the engine's messages:
// "…: 503 Service Unavailable" (containerd's "unexpected status from PUT
// request to …"), and "status 502", "status code: 429", "HTTP 500".
var (
	statusWithText = regexp.MustCompile(`\b([45]\d\d)\s+([A-Za-z][A-Za-z' -]*)`)
	statusAfterKey = regexp.MustCompile(`(?i)\b(?:status(?:\s+code)?|http(?:/\d(?:\.\d)?)?)\s*[:=]?\s*([45]\d\d)\b`)
)

// rateLimited is the registry error code of a rate limit (Docker Hub's), for
// messages that quote it without the status.
const rateLimited = "toomanyrequests"

// permanentPhrases are refusals that no retry changes: credentials, access,
// missing repositories or manifests (the OCI distribution error codes
// included) and malformed references.
var permanentPhrases = []string{
	"unauthorized", "denied", "forbidden", "insufficient_scope",
	"not found", "manifest unknown", "name unknown", "blob unknown", "invalid reference",
}

// networkPhrases are the texts of the errors of a broken connection, with
// the typed error they stand for.
var networkPhrases = []struct {
	re    *regexp.Regexp
	cause error
}{
	{regexp.MustCompile(`(?i)connection reset`), syscall.ECONNRESET},
	{regexp.MustCompile(`(?i)connection refused`), syscall.ECONNREFUSED},
	{regexp.MustCompile(`(?i)broken pipe`), syscall.EPIPE},
	{regexp.MustCompile(`(?i)\bEOF\b`), io.ErrUnexpectedEOF},
	{regexp.MustCompile(`(?i)\b(?:timeout|timed out|deadline exceeded)\b`), os.ErrDeadlineExceeded},
}

// engineError is an engine message that names a typed cause.
type engineError struct {
	msg   string
	cause error
}

func (e *engineError) Error() string { return e.msg }
func (e *engineError) Unwrap() error { return e.cause }

// FromEngineMessage turns the text of a Dagger engine error (the engine
// reports registry failures of a publish as text only) into a typed error,
// once, so that callers decide with Transient like for any other error.
// The returned error's text is msg unchanged; "" gives nil. In order:
//   - an HTTP status in the text ("503 Service Unavailable", "status 429",
//     "HTTP 500"; the last one when there are several) gives a *StatusError;
//   - Docker Hub's rate limit without status ("toomanyrequests") gives a
//     *StatusError 429;
//   - a refusal ("unauthorized", "denied", "forbidden", "insufficient_scope",
//     "not found", "manifest unknown", "name unknown", "blob unknown",
//     "invalid reference") gives a Permanent error;
//   - a broken connection ("connection reset", "connection refused", "broken
//     pipe", "EOF", "timeout") gives an error wrapping syscall.ECONNRESET,
//     syscall.ECONNREFUSED, syscall.EPIPE, io.ErrUnexpectedEOF or
//     os.ErrDeadlineExceeded;
//   - anything else gives a plain error, which Transient rejects.
func FromEngineMessage(msg string) error {
	if msg == "" {
		return nil
	}
	plain := errors.New(msg)
	if code := statusIn(msg); code != 0 {
		return &StatusError{Code: code, Err: plain}
	}
	lower := strings.ToLower(msg)
	if strings.Contains(lower, rateLimited) {
		return &StatusError{Code: http.StatusTooManyRequests, Err: plain}
	}
	for _, p := range permanentPhrases {
		if strings.Contains(lower, p) {
			return Permanent(plain)
		}
	}
	for _, np := range networkPhrases {
		if np.re.MatchString(msg) {
			return &engineError{msg: msg, cause: np.cause}
		}
	}
	return plain
}

// statusIn returns the last 4xx or 5xx HTTP status written in msg, or 0.
func statusIn(msg string) int {
	code, at := 0, -1
	for _, m := range statusWithText.FindAllStringSubmatchIndex(msg, -1) {
		c, _ := strconv.Atoi(msg[m[2]:m[3]])
		text := http.StatusText(c)
		if text != "" && strings.HasPrefix(strings.ToLower(msg[m[4]:m[5]]), strings.ToLower(text)) && m[0] > at {
			code, at = c, m[0]
		}
	}
	for _, m := range statusAfterKey.FindAllStringSubmatchIndex(msg, -1) {
		c, _ := strconv.Atoi(msg[m[2]:m[3]])
		if http.StatusText(c) != "" && m[2] > at {
			code, at = c, m[2]
		}
	}
	return code
}
