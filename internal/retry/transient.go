package retry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
)

// StatusError is an HTTP answer that was not a success. Adapters wrap the
// errors of their HTTP clients in it once so that Transient can decide by
// the status.
type StatusError struct {
	// Code is the HTTP status code, e.g. 503.
	Code int
	// Err is the error as the client reported it; nil means none beyond the status.
	Err error
}

// Error returns Err's text, or "HTTP <code> <status text>" without one.
func (e *StatusError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "HTTP " + strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
}

// Unwrap returns Err.
func (e *StatusError) Unwrap() error { return e.Err }

// Transient reports whether the status is worth another attempt: a server
// failure (5xx, except 501 Not Implemented, which never changes), 429 Too
// Many Requests or 408 Request Timeout. Every other status is permanent.
func (e *StatusError) Transient() bool {
	switch c := e.Code; {
	case c == http.StatusTooManyRequests, c == http.StatusRequestTimeout:
		return true
	case c == http.StatusNotImplemented:
		return false
	default:
		return c >= 500 && c <= 599
	}
}

// permanentError marks an error as never worth retrying.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Permanent marks err as never worth retrying, whatever it wraps; its text is
// unchanged. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// transientCauses are the errors of a connection that broke or never formed:
// worth another attempt.
var transientCauses = []error{
	io.EOF, io.ErrUnexpectedEOF, net.ErrClosed,
	syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE,
}

// Transient reports whether err is worth another attempt, by type only:
//   - false for nil, for anything wrapped with Permanent and for context.Canceled;
//   - else, when err wraps a *StatusError, what its Transient method says (the
//     first one in the chain decides);
//   - else true for a dropped, reset or refused connection (io.EOF,
//     io.ErrUnexpectedEOF, net.ErrClosed, ECONNRESET, ECONNREFUSED,
//     ECONNABORTED, EPIPE) and for a net.Error that timed out (which includes
//     context.DeadlineExceeded: Do checks the caller's own context apart);
//   - false for everything else.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var p *permanentError
	if errors.As(err, &p) || errors.Is(err, context.Canceled) {
		return false
	}
	var s *StatusError
	if errors.As(err, &s) {
		return s.Transient()
	}
	for _, cause := range transientCauses {
		if errors.Is(err, cause) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
