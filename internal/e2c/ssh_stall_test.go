package e2c

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// stallingSSHD is an in-process SSH server whose first stall connections are accepted and never
// answered (a port forward whose far end is restarting sshd, as the builder's own user data does
// while it installs the job's host key); every later one runs any command with exit status 0.
func stallingSSHD(t *testing.T, stall int32) (addr string, host ssh.PublicKey, client ssh.Signer, conns *atomic.Int32) {
	t.Helper()
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	_, clientPriv, _ := ed25519.GenerateKey(rand.Reader)
	client, err = ssh.NewSignerFromKey(clientPriv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if string(k.Marshal()) != string(client.PublicKey().Marshal()) {
			return nil, errors.New("unknown key")
		}
		return nil, nil
	}}
	cfg.AddHostKey(hostSigner)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	conns = &atomic.Int32{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if conns.Add(1) <= stall {
				// accepted, read, never answered: held open until the test ends
				go func() { _, _ = c.Read(make([]byte, 64)) }()
				t.Cleanup(func() { c.Close() })
				continue
			}
			go serveExit0(c, cfg)
		}
	}()
	return l.Addr().String(), hostSigner.PublicKey(), client, conns
}

// serveExit0 answers every session's exec request with exit status 0.
func serveExit0(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			for r := range chReqs {
				if r.Type != "exec" {
					_ = r.Reply(false, nil)
					continue
				}
				_ = r.Reply(true, nil)
				status := make([]byte, 4)
				binary.BigEndian.PutUint32(status, 0)
				_, _ = ch.SendRequest("exit-status", false, status)
				ch.Close()
			}
		}()
	}
}

// A connection that is accepted and never answered costs one handshake timeout, not the whole
// wait: Wait gives up on it, connects again and finds the builder. Before the handshake had a
// deadline, such a connection held Wait (and the release) until its own deadline.
func TestWaitGivesUpOnAStalledHandshake(t *testing.T) {
	shortHandshake(t)
	addr, host, client, conns := stallingSSHD(t, 2)
	target := SSHTarget{Addr: addr, User: "admin", Signer: client, HostKey: host}

	start := time.Now()
	if err := target.Wait(context.Background(), "", 60*time.Second, nil); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("Wait connected %d times, want 3 (two stalled, then the one that answered)", n)
	}
	// generous for a loaded machine, far below the 60 s a stalled connection would have held it
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("Wait took %s through two stalled connections", took)
	}
}

// Run on a connection that is never answered fails with an error naming the address and the
// handshake, after the handshake timeout, even when the caller's context has no deadline.
func TestRunStalledHandshake(t *testing.T) {
	shortHandshake(t)
	addr, host, client, _ := stallingSSHD(t, 1)
	target := SSHTarget{Addr: addr, User: "admin", Signer: client, HostKey: host}

	_, err := target.Run(context.Background(), "true")
	if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "did not complete the handshake") {
		t.Fatalf("Run on a stalled connection: %v, want the handshake's deadline naming %s", err, addr)
	}
	if _, err := target.Run(context.Background(), "true"); err != nil {
		t.Fatalf("Run on the next connection, which answers: %v", err)
	}
}

// shortHandshake makes a stalled handshake give up after 300 ms for the rest of the test.
func shortHandshake(t *testing.T) {
	old := sshHandshakeTimeout
	sshHandshakeTimeout = 300 * time.Millisecond
	t.Cleanup(func() { sshHandshakeTimeout = old })
}
