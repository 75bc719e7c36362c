package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"shipyard/internal/retry"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrUnauthorized means the registry rejected the credentials (HTTP 401).
	ErrUnauthorized = errors.New("registry rejected the credentials (check the registry user/password secret)")
	// ErrDenied means the credentials were accepted but lack permission (HTTP 403).
	ErrDenied = errors.New("registry denied access (check that the registry user may read/write this repository)")
	// ErrNotFound means the repository, tag or manifest does not exist (HTTP 404).
	ErrNotFound = errors.New("not found in the registry")
	// ErrUnreachable means no HTTP answer came from the registry at all (refused, reset, timed out).
	ErrUnreachable = errors.New("cannot reach the registry (check its address, that it is up and that this network reaches it)")
	// ErrDigestMismatch means the registry holds other bytes than the ones copied or asked for.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrDuplicatePlatform means two sources of an index provide the same platform.
	ErrDuplicatePlatform = errors.New("duplicate platform")
	// ErrNoPlatform means a source image does not say which platform it is for.
	ErrNoPlatform = errors.New("image has no platform")
)

// typed gives a registry's HTTP answer its *retry.StatusError, once, where
// go-containerregistry's errors enter the client, so that retries (by
// retry.Transient) and descriptions (by statusOf) decide by type.
func typed(err error) error {
	var terr *transport.Error
	var serr *retry.StatusError
	if err == nil || errors.As(err, &serr) || !errors.As(err, &terr) {
		return err
	}
	return &retry.StatusError{Code: terr.StatusCode, Err: err}
}

// statusOf returns the HTTP status of a registry error, or 0.
func statusOf(err error) int {
	var serr *retry.StatusError
	if errors.As(err, &serr) {
		return serr.Code
	}
	return 0
}

// op runs fn with the client's retry policy (transient failures only, see
// retry.Transient) and describes a failure as "<what>: <kind>: <cause>".
func (c *Client) op(ctx context.Context, what string, fn func(context.Context) error) error {
	err := retry.Do(ctx, c.retry, func(ctx context.Context) error { return typed(fn(ctx)) }, nil)
	if err != nil {
		return c.describe(what, err)
	}
	return nil
}

// describe prefixes err with what was being done, classifies it with a
// sentinel error and removes any password from its text.
func (c *Client) describe(what string, err error) error {
	var kind error
	switch statusOf(err) {
	case http.StatusUnauthorized:
		kind = ErrUnauthorized
	case http.StatusForbidden:
		kind = ErrDenied
	case http.StatusNotFound:
		kind = ErrNotFound
	case 0:
		if !errors.Is(err, ErrPlainHTTP) && isNetworkError(err) {
			kind = ErrUnreachable
		}
	}
	if kind != nil && !errors.Is(err, kind) {
		err = fmt.Errorf("%s: %w: %w", what, kind, err)
	} else {
		err = fmt.Errorf("%s: %w", what, err)
	}
	return redact(err, c.secrets())
}

// isNetworkError tells a failure to talk to the registry at all from an answer it gave.
func isNetworkError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// redactedError hides secrets in the message of the error it wraps while
// keeping errors.Is/As working.
type redactedError struct {
	err     error
	secrets []string
}

func (r *redactedError) Error() string {
	msg := r.err.Error()
	for _, s := range r.secrets {
		msg = strings.ReplaceAll(msg, s, "***")
	}
	return msg
}

func (r *redactedError) Unwrap() error { return r.err }

// redact wraps err if its message contains a secret.
func redact(err error, secrets []string) error {
	msg := err.Error()
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			return &redactedError{err: err, secrets: secrets}
		}
	}
	return err
}
