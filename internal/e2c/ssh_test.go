package e2c

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

const sshdPath = "/usr/sbin/sshd"

// testSSHD is an OpenSSH server on 127.0.0.1 with keys made by the test.
type testSSHD struct {
	addr    string
	hostKey ssh.PublicKey
	client  ssh.Signer // authorised for the current user
}

// newEd25519Signer makes a fresh ed25519 key and returns its signer and its
// OpenSSH PEM encoding.
func newEd25519Signer(t *testing.T) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return signer, pem.EncodeToMemory(block)
}

// startSSHD runs Debian's sshd in the foreground with a temporary
// configuration and stops it when the test ends.
func startSSHD(t *testing.T) testSSHD {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Fatalf("the SSH tests need OpenSSH's server at %s: install it with `apt-get install -y openssh-server` (%v)", sshdPath, err)
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("creating /run/sshd for sshd: %v", err)
	}
	dir := t.TempDir()
	host, hostPEM := newEd25519Signer(t)
	client, _ := newEd25519Signer(t)
	files := map[string][]byte{
		"host_ed25519":    hostPEM,
		"authorized_keys": ssh.MarshalAuthorizedKey(client.PublicKey()),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile %s
UsePAM no
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
`, port, filepath.Join(dir, "host_ed25519"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"))
	configPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sshdPath, "-t", "-f", configPath).CombinedOutput(); err != nil {
		t.Fatalf("sshd rejects the test configuration: %v\n%s", err, out)
	}
	var logs bytes.Buffer
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", configPath)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sshd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", logs.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitListening(addr, 10*time.Second); err != nil {
		t.Fatalf("sshd does not listen on %s: %v\n%s", addr, err, logs.String())
	}
	return testSSHD{addr: addr, hostKey: host.PublicKey(), client: client}
}

func TestCheckSSH(t *testing.T) {
	srv := startSSHD(t)
	user := os.Getenv("USER")
	if u, err := exec.Command("id", "-un").Output(); err == nil {
		user = strings.TrimSpace(string(u))
	}
	otherHost, _ := newEd25519Signer(t)
	otherClient, _ := newEd25519Signer(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaHost, err := ssh.NewPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	closedPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		addr      string
		signer    ssh.Signer
		hostKey   ssh.PublicKey
		wantIs    []error
		wantInMsg string
	}{
		{name: "success", addr: srv.addr, signer: srv.client, hostKey: srv.hostKey},
		{name: "wrong host key", addr: srv.addr, signer: srv.client, hostKey: otherHost.PublicKey(),
			wantIs: []error{ErrHostKeyMismatch}, wantInMsg: ssh.FingerprintSHA256(srv.hostKey)},
		{name: "server lacks the expected key type", addr: srv.addr, signer: srv.client, hostKey: rsaHost,
			wantIs: []error{ErrHostKeyMismatch}, wantInMsg: "no ssh-rsa host key"},
		{name: "client key not authorised", addr: srv.addr, signer: otherClient, hostKey: srv.hostKey,
			wantIs: []error{ErrSSHTimeout, ErrSSHAuth}, wantInMsg: "authorized_keys"},
		{name: "closed port", addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(closedPort)), signer: srv.client, hostKey: srv.hostKey,
			wantIs: []error{ErrSSHTimeout}, wantInMsg: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSSH(context.Background(), tt.addr, user, tt.signer, tt.hostKey, 2*time.Second)
			if tt.wantIs == nil {
				if err != nil {
					t.Fatalf("CheckSSH: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckSSH succeeded, want an error")
			}
			t.Logf("error: %v", err)
			for _, want := range tt.wantIs {
				if !errors.Is(err, want) {
					t.Errorf("error %q does not match %v", err, want)
				}
			}
			if !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantInMsg)
			}
		})
	}

	// The test-only override sends SSH for an instance with moto's fake IP to the local sshd.
	t.Run("address override after Setup", func(t *testing.T) {
		c := newMotoClient(t)
		cfg := testConfig(t, c, StrategyTemplate)
		cfg.SSHAddrOverride, cfg.SSHUser = srv.addr, user
		var ll logLines
		m := NewManager(c, cfg, ll.add)
		s, err := m.Setup(context.Background(), nil)
		if err != nil {
			t.Fatalf("Setup: %v", err)
		}
		t.Cleanup(func() { _ = m.Teardown(context.Background(), s) })
		ll.expect(t, "E2C_SSH_ADDR_OVERRIDE is set", 1)
		if got := m.SSHAddr(s); got != srv.addr {
			t.Fatalf("SSHAddr = %q, want the override %q", got, srv.addr)
		}
		if err := CheckSSH(context.Background(), m.SSHAddr(s), cfg.SSHUser, srv.client, srv.hostKey, 5*time.Second); err != nil {
			t.Errorf("CheckSSH through the override: %v", err)
		}
		cfg.SSHAddrOverride = ""
		if got, want := NewManager(c, cfg, nil).SSHAddr(s), net.JoinHostPort(s.PublicIP, "22"); got != want {
			t.Errorf("SSHAddr without override = %q, want %q", got, want)
		}
	})
}
