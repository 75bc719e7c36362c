package e2c

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshRetryDelay is the pause between SSH attempts while the builder boots.
const sshRetryDelay = time.Second

// CheckSSH proves that addr accepts an SSH session as user with signer and
// presents exactly hostKey, by running `true` there. Until timeout it retries
// what a booting machine does (refused or dropped connections, a key not yet
// authorised); a host-key mismatch fails at once with ErrHostKeyMismatch. At
// the deadline the error matches ErrSSHTimeout and, if the server kept
// rejecting the key, ErrSSHAuth.
func CheckSSH(ctx context.Context, addr, user string, signer ssh.Signer, hostKey ssh.PublicKey, timeout time.Duration) error {
	if signer == nil || hostKey == nil {
		return errors.New("checking SSH: a client key and the expected host key are both required")
	}
	if timeout <= 0 {
		return fmt.Errorf("checking SSH to %s: timeout %s must be positive", addr, timeout)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := sshOnce(tctx, addr, user, signer, hostKey)
		if err == nil || errors.Is(err, ErrHostKeyMismatch) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("checking SSH to %s: %w", addr, ctx.Err())
		}
		if sleep(tctx, sshRetryDelay) != nil || tctx.Err() != nil {
			return fmt.Errorf("%w: %s as %s gave no working session within %s; last attempt: %w", ErrSSHTimeout, addr, user, timeout, err)
		}
	}
}

// sshOnce makes one connection, handshake and `true` run.
func sshOnce(ctx context.Context, addr, user string, signer ssh.Signer, want ssh.PublicKey) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	// The callback runs on the handshake goroutine; guard what it reports.
	var (
		mu        sync.Mutex
		mismatch  error
		hostKeyOK bool
	)
	cfg := &ssh.ClientConfig{
		User: user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: func(_ string, _ net.Addr, got ssh.PublicKey) error {
			mu.Lock()
			defer mu.Unlock()
			if err := ssh.FixedHostKey(want)("", nil, got); err != nil {
				mismatch = fmt.Errorf("%w at %s: the server presented %s %s, expected %s %s; do not trust this host until the expected key is confirmed",
					ErrHostKeyMismatch, addr, got.Type(), ssh.FingerprintSHA256(got), want.Type(), ssh.FingerprintSHA256(want))
				return mismatch
			}
			hostKeyOK = true
			return nil
		},
		HostKeyAlgorithms: hostKeyAlgorithms(want),
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	mu.Lock()
	badKey, keyOK := mismatch, hostKeyOK
	mu.Unlock()
	switch {
	case badKey != nil:
		return badKey
	case err != nil && strings.Contains(err.Error(), "no common algorithm for host key"):
		return fmt.Errorf("%w at %s: the server has no %s host key: %w", ErrHostKeyMismatch, addr, want.Type(), err)
	case err != nil && keyOK && strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("%w: %s rejected key %s for user %q; add its public key to that user's authorized_keys: %w",
			ErrSSHAuth, addr, ssh.FingerprintSHA256(signer.PublicKey()), user, err)
	case err != nil:
		return fmt.Errorf("SSH handshake: %w", err)
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return fmt.Errorf("opening an SSH session: %w", err)
	}
	defer sess.Close()
	if err := sess.Run("true"); err != nil {
		return fmt.Errorf("running `true` over SSH: %w", err)
	}
	return nil
}

// hostKeyAlgorithms lists the signature algorithms that can carry key, so
// the server is asked for that key and not another of its host keys.
func hostKeyAlgorithms(key ssh.PublicKey) []string {
	if key.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{key.Type()}
}
