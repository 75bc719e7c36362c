package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

// timeoutErr is a net.Error, like the ones a dialer or an http.Transport returns.
type timeoutErr struct{ timeout bool }

func (e timeoutErr) Error() string   { return "i/o timeout" }
func (e timeoutErr) Timeout() bool   { return e.timeout }
func (e timeoutErr) Temporary() bool { return e.timeout }

func TestTransient(t *testing.T) {
	opErr := func(errno syscall.Errno) error {
		return fmt.Errorf("Put http://127.0.0.1:5000/v2/: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errno})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), false},
		{"text that looks transient is not read", errors.New("503 Service Unavailable: connection reset by peer"), false},
		{"500", &StatusError{Code: 500}, true},
		{"502 wrapped", fmt.Errorf("pushing: %w", &StatusError{Code: 502}), true},
		{"503", &StatusError{Code: 503}, true},
		{"599", &StatusError{Code: 599}, true},
		{"501 never changes", &StatusError{Code: 501}, false},
		{"429", &StatusError{Code: 429}, true},
		{"408", &StatusError{Code: 408}, true},
		{"400", &StatusError{Code: 400}, false},
		{"401", &StatusError{Code: 401}, false},
		{"403", &StatusError{Code: 403}, false},
		{"404", &StatusError{Code: 404}, false},
		{"status decides over a wrapped reset", &StatusError{Code: 404, Err: syscall.ECONNRESET}, false},
		{"connection reset", opErr(syscall.ECONNRESET), true},
		{"connection refused", opErr(syscall.ECONNREFUSED), true},
		{"connection aborted", opErr(syscall.ECONNABORTED), true},
		{"broken pipe", fmt.Errorf("writing: %w", syscall.EPIPE), true},
		{"unexpected EOF", fmt.Errorf("reading body: %w", io.ErrUnexpectedEOF), true},
		{"EOF", fmt.Errorf("Get http://x/: %w", io.EOF), true},
		{"closed connection", fmt.Errorf("x: %w", net.ErrClosed), true},
		{"net.Error timeout", fmt.Errorf("Get http://x/: %w", timeoutErr{true}), true},
		{"net.Error without timeout", timeoutErr{false}, false},
		{"deadline exceeded (a per-request deadline)", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), false},
		{"permission denied errno", syscall.EACCES, false},
		{"permanent 503", Permanent(&StatusError{Code: 503}), false},
		{"permanent reset, wrapped again", fmt.Errorf("x: %w", Permanent(opErr(syscall.ECONNRESET))), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestPermanentKeepsTextAndChain(t *testing.T) {
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
	cause := &StatusError{Code: 503}
	err := Permanent(cause)
	var s *StatusError
	if err.Error() != "HTTP 503 Service Unavailable" || !errors.As(err, &s) || s != cause {
		t.Errorf("Permanent(%v) = %q, loses its text or its cause", cause, err)
	}
}

func TestStatusErrorText(t *testing.T) {
	if got := (&StatusError{Code: 429}).Error(); got != "HTTP 429 Too Many Requests" {
		t.Errorf("bare StatusError text = %q", got)
	}
	cause := errors.New("PUT http://r/v2/x/manifests/1: 500 Internal Server Error")
	err := &StatusError{Code: 500, Err: cause}
	if err.Error() != cause.Error() || !errors.Is(err, cause) {
		t.Errorf("StatusError with a cause = %q, want the cause's text and chain", err)
	}
}
