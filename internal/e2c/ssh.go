package e2c

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"shipyard/internal/retry"
)

// sshHandshakeTimeout bounds one connection's TCP connect and SSH handshake (not the command it
// runs): a server that accepts the connection and never answers (a NAT or port forward whose far
// end is restarting sshd, an sshd throttling new connections) fails the attempt instead of
// holding it until the caller's deadline. A variable for the tests.
var sshHandshakeTimeout = time.Minute

// SSHTarget is a builder as the module reaches it: where, as whom, with which client key, and
// the one host key it must present (pinned, never learnt).
type SSHTarget struct {
	// Addr is host:port of the builder's sshd.
	Addr string
	// User is the login user.
	User string
	// Signer is the client key.
	Signer ssh.Signer
	// HostKey is the pinned host key; any other key is refused before anything is sent.
	HostKey ssh.PublicKey
}

func (t SSHTarget) check() error {
	if t.Signer == nil || t.HostKey == nil {
		return errors.New("checking SSH: a client key and the expected host key are both required")
	}
	return nil
}

// CheckSSH proves that addr accepts an SSH session as user with signer and presents exactly
// hostKey, by running `true` there (Wait with no readiness file).
func CheckSSH(ctx context.Context, addr, user string, signer ssh.Signer, hostKey ssh.PublicKey, timeout time.Duration) error {
	return SSHTarget{Addr: addr, User: user, Signer: signer, HostKey: hostKey}.Wait(ctx, "", timeout, nil)
}

// Wait retries, until timeout, what a booting machine does: refused or dropped connections, a
// client key not yet authorised, a readiness file that does not exist yet (readyFile; "" runs
// `true` only), and a host key other than the pinned one. The last is the first-boot window of a
// launched builder: sshd starts with the image's own host keys and the user data replaces them
// seconds later. A connection that presents another key is closed during the key exchange, before
// any authentication or command is sent, and the attempt counts as "not up yet"; the other key is
// never accepted. log (nil: silent) hears, once per key, that another key was presented, and once
// that the host answers with the pinned key but is not ready yet.
//
// At the deadline the error matches ErrSSHTimeout and wraps the error of the last attempt that
// ran to its end (one the deadline cut short only says that time ran out): a closed port still
// matches syscall.ECONNREFUSED, a rejected client key ErrSSHAuth, another host key
// ErrHostKeyMismatch (naming the fingerprints of the presented and the pinned key), a missing
// readiness file ErrNotReady.
func (t SSHTarget) Wait(ctx context.Context, readyFile string, timeout time.Duration, log func(string)) error {
	if err := t.check(); err != nil {
		return err
	}
	if timeout <= 0 {
		return fmt.Errorf("checking SSH to %s: timeout %s must be positive", t.Addr, timeout)
	}
	if log == nil {
		log = func(string) {}
	}
	cmd := "true"
	if readyFile != "" {
		cmd = "test -e " + shellQuote(readyFile)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		last      error
		seenKeys  = map[string]bool{}
		saidReady bool
	)
	for {
		_, err := t.run(tctx, cmd)
		var exit *ssh.ExitError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &exit) && readyFile != "":
			err = fmt.Errorf("%w: %s as %s: %s does not exist yet (the provisioning has not finished: read /var/log/cloud-init-output.log there)", ErrNotReady, t.Addr, t.User, readyFile)
			if !saidReady {
				saidReady = true
				log(fmt.Sprintf("e2c: %s answers with the pinned host key; waiting for %s", t.Addr, readyFile))
			}
		case errors.Is(err, ErrHostKeyMismatch):
			var km *hostKeyError
			if errors.As(err, &km) && !seenKeys[km.got] {
				seenKeys[km.got] = true
				log(fmt.Sprintf("e2c: %s presents host key %s, not the pinned %s: not this job's builder yet (its first boot shows the image's keys until the user data installs the job's); sent nothing, waiting",
					t.Addr, km.got, km.want))
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("checking SSH to %s: %w", t.Addr, ctx.Err())
		}
		if last == nil || tctx.Err() == nil {
			last = err
		}
		if sleep(tctx, retry.BuilderSSH.Every) != nil || tctx.Err() != nil {
			return fmt.Errorf("%w: %s as %s gave no working session within %s; last attempt: %w", ErrSSHTimeout, t.Addr, t.User, timeout, last)
		}
	}
}

// Run runs cmd on the builder over one connection that verified the pinned host key, and returns
// its standard output. A non-zero exit is an error wrapping *ssh.ExitError, with the command's
// standard error.
func (t SSHTarget) Run(ctx context.Context, cmd string) (string, error) {
	if err := t.check(); err != nil {
		return "", err
	}
	return t.run(ctx, cmd)
}

// RunNamed is Run, with name standing for cmd in its errors: a long script is not repeated there.
func (t SSHTarget) RunNamed(ctx context.Context, name, cmd string) (string, error) {
	if err := t.check(); err != nil {
		return "", err
	}
	return t.runNamed(ctx, name, cmd)
}

// hostKeyError is a host key other than the pinned one; got and want are fingerprints.
type hostKeyError struct {
	addr, got, want   string
	gotType, wantType string
}

func (e *hostKeyError) Error() string {
	return fmt.Sprintf("%s at %s: the server presented %s %s, expected %s %s; do not trust this host until the expected key is confirmed",
		ErrHostKeyMismatch, e.addr, e.gotType, e.got, e.wantType, e.want)
}

func (e *hostKeyError) Unwrap() error { return ErrHostKeyMismatch }

// run makes one connection and handshake and runs cmd.
func (t SSHTarget) run(ctx context.Context, cmd string) (string, error) {
	return t.runNamed(ctx, cmd, cmd)
}

// runNamed is run, naming the command name in its errors.
func (t SSHTarget) runNamed(ctx context.Context, name, cmd string) (string, error) {
	d := net.Dialer{Timeout: sshHandshakeTimeout}
	conn, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return "", fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.SetDeadline(time.Now().Add(sshHandshakeTimeout)); err != nil {
		return "", fmt.Errorf("connecting: %w", err)
	}

	// The callback runs on the handshake goroutine; guard what it reports.
	var (
		mu        sync.Mutex
		mismatch  error
		hostKeyOK bool
	)
	cfg := &ssh.ClientConfig{
		User: t.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(t.Signer)},
		// Called after the key exchange and before authentication: refusing here sends nothing.
		HostKeyCallback: func(_ string, _ net.Addr, got ssh.PublicKey) error {
			mu.Lock()
			defer mu.Unlock()
			if err := ssh.FixedHostKey(t.HostKey)("", nil, got); err != nil {
				mismatch = &hostKeyError{addr: t.Addr, got: ssh.FingerprintSHA256(got), want: ssh.FingerprintSHA256(t.HostKey), gotType: got.Type(), wantType: t.HostKey.Type()}
				return mismatch
			}
			hostKeyOK = true
			return nil
		},
		HostKeyAlgorithms: hostKeyAlgorithms(t.HostKey),
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, t.Addr, cfg)
	mu.Lock()
	badKey, keyOK := mismatch, hostKeyOK
	mu.Unlock()
	switch {
	case badKey != nil:
		return "", badKey
	case err != nil && strings.Contains(err.Error(), "no common algorithm for host key"):
		return "", fmt.Errorf("%w at %s: the server has no %s host key (expected %s): %w", ErrHostKeyMismatch, t.Addr, t.HostKey.Type(), ssh.FingerprintSHA256(t.HostKey), err)
	case err != nil && keyOK && strings.Contains(err.Error(), "unable to authenticate"):
		return "", fmt.Errorf("%w: %s rejected key %s for user %q; add its public key to that user's authorized_keys: %w",
			ErrSSHAuth, t.Addr, ssh.FingerprintSHA256(t.Signer.PublicKey()), t.User, err)
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		return "", fmt.Errorf("SSH handshake: %s accepted the connection but did not complete the handshake within %s: %w", t.Addr, sshHandshakeTimeout, err)
	case err != nil:
		return "", fmt.Errorf("SSH handshake: %w", err)
	}
	// the command may take as long as it takes (the caller's context bounds it)
	if err := conn.SetDeadline(time.Time{}); err != nil {
		c.Close()
		return "", fmt.Errorf("SSH handshake: %w", err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return "", fmt.Errorf("opening an SSH session: %w", err)
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	if err := sess.Run(cmd); err != nil {
		return stdout.String(), fmt.Errorf("running `%s` over SSH: %w%s", name, err, withOutput(stderr.String()))
	}
	return stdout.String(), nil
}

func withOutput(s string) string {
	if s = strings.TrimSpace(s); s == "" {
		return ""
	}
	return ": " + s
}

// shellQuote quotes s for the remote shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// hostKeyAlgorithms lists the signature algorithms that can carry key, so
// the server is asked for that key and not another of its host keys.
func hostKeyAlgorithms(key ssh.PublicKey) []string {
	if key.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{key.Type()}
}
