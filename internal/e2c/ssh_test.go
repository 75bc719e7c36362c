//go:build full

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
	"sync"
	"syscall"
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
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	host, hostPEM := newEd25519Signer(t)
	client, _ := newEd25519Signer(t)
	srv, _ := runSSHD(t, port, hostPEM, client.PublicKey(), "INFO")
	srv.hostKey, srv.client = host.PublicKey(), client
	return srv
}

// runSSHD runs sshd on 127.0.0.1:port with the host key hostPEM, authorising client for the
// current user; stop stops it early (it also stops when the test ends) and returns its log.
func runSSHD(t *testing.T, port int, hostPEM []byte, client ssh.PublicKey, logLevel string) (srv testSSHD, stop func() string) {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Fatalf("the SSH tests need OpenSSH's server at %s: install it with `apt-get install -y openssh-server` (%v)", sshdPath, err)
	}
	// sshd refuses to start without its privilege separation directory (root's, mode 0755), which
	// nothing creates on a machine where openssh-server was installed but never started.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("creating /run/sshd for sshd (the SSH tests need root): %v", err)
	}
	if err := os.Chmod("/run/sshd", 0o755); err != nil {
		t.Fatalf("making /run/sshd mode 0755 for sshd: %v", err)
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"host_ed25519":    hostPEM,
		"authorized_keys": ssh.MarshalAuthorizedKey(client),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
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
LogLevel %s
`, port, filepath.Join(dir, "host_ed25519"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"), logLevel)
	configPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sshdPath, "-t", "-f", configPath).CombinedOutput(); err != nil {
		t.Fatalf("sshd rejects the test configuration: %v\n%s", err, out)
	}
	var logs syncBuffer
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", configPath)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sshd: %v", err)
	}
	var once sync.Once
	stop = func() string {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		return logs.String()
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("sshd log:\n%s", logs.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitListening(addr, 10*time.Second); err != nil {
		t.Fatalf("sshd does not listen on %s: %v\n%s", addr, err, logs.String())
	}
	return testSSHD{addr: addr}, stop
}

// syncBuffer is a bytes.Buffer safe for sshd's writer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

func currentUser() string {
	if u, err := exec.Command("id", "-un").Output(); err == nil {
		return strings.TrimSpace(string(u))
	}
	return os.Getenv("USER")
}

func TestCheckSSH(t *testing.T) {
	srv := startSSHD(t)
	user := currentUser()
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
		// another key is "not this job's builder yet" until the deadline, then named with the pinned one
		{name: "wrong host key", addr: srv.addr, signer: srv.client, hostKey: otherHost.PublicKey(),
			wantIs:    []error{ErrSSHTimeout, ErrHostKeyMismatch},
			wantInMsg: "presented ssh-ed25519 " + ssh.FingerprintSHA256(srv.hostKey) + ", expected ssh-ed25519 " + ssh.FingerprintSHA256(otherHost.PublicKey())},
		{name: "server lacks the expected key type", addr: srv.addr, signer: srv.client, hostKey: rsaHost,
			wantIs: []error{ErrSSHTimeout, ErrHostKeyMismatch}, wantInMsg: "no ssh-rsa host key"},
		{name: "client key not authorised", addr: srv.addr, signer: otherClient, hostKey: srv.hostKey,
			wantIs: []error{ErrSSHTimeout, ErrSSHAuth}, wantInMsg: "authorized_keys"},
		// Refused, not timed out: the verdict is the last attempt that ran to its end, however
		// late (on a loaded machine) the deadline cuts the one after it.
		{name: "closed port", addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(closedPort)), signer: srv.client, hostKey: srv.hostKey,
			wantIs: []error{ErrSSHTimeout, syscall.ECONNREFUSED}, wantInMsg: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The budget only bounds how long CheckSSH retries; it is generous so that even a
			// loaded 2-core machine completes the first attempt within it.
			// A success returns at once, so its budget can be long; a failure waits it out.
			budget := 15 * time.Second
			if tt.wantIs == nil {
				budget = 2 * time.Minute
			}
			err := CheckSSH(context.Background(), tt.addr, user, tt.signer, tt.hostKey, budget)
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

// At first boot sshd shows the image's own host key until the user data installs the job's.
// Wait treats that key as "not up yet": it closes each such connection in the key exchange,
// before authenticating (the image's sshd never sees a user name or a key), logs the presented
// key once, and succeeds once the pinned key answers and the readiness file exists.
func TestWaitThroughTheFirstBootHostKeyWindow(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	image, imagePEM := newEd25519Signer(t)
	job, jobPEM := newEd25519Signer(t)
	client, _ := newEd25519Signer(t)
	srv, stopImage := runSSHD(t, port, imagePEM, client.PublicKey(), "DEBUG1")
	ready := filepath.Join(t.TempDir(), "ready")
	target := SSHTarget{Addr: srv.addr, User: currentUser(), Signer: client, HostKey: job.PublicKey()}

	var (
		mu   sync.Mutex
		logs []string
	)
	said := func(sub string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range logs {
			if strings.Contains(l, sub) {
				return true
			}
		}
		return false
	}
	done := make(chan error, 1)
	go func() {
		done <- target.Wait(context.Background(), ready, time.Minute, func(l string) { mu.Lock(); logs = append(logs, l); mu.Unlock() })
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("Wait did not %s within 30s; it logged %q", what, logs)
			}
		}
	}
	waitFor("see the image's host key", func() bool { return said("presents host key " + ssh.FingerprintSHA256(image.PublicKey())) })
	time.Sleep(1500 * time.Millisecond) // a few more attempts against the image's key
	imageLog := stopImage()
	if strings.Contains(imageLog, "userauth-request") || strings.Contains(imageLog, currentUser()+" service") {
		t.Errorf("the client authenticated to the host with the image's key:\n%s", imageLog)
	}
	if !strings.Contains(imageLog, "Connection from 127.0.0.1") {
		t.Errorf("the image's sshd saw no connection:\n%s", imageLog)
	}
	// the user data restarts sshd with the job's host key
	runSSHD(t, port, jobPEM, client.PublicKey(), "INFO")
	waitFor("report the missing readiness file", func() bool { return said("waiting for " + ready) })
	select {
	case err := <-done:
		t.Fatalf("Wait returned before the readiness file existed: %v", err)
	default:
	}
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Wait did not return within 30s of the readiness file")
	}
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, l := range logs {
		if strings.Contains(l, "presents host key") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the image's key was logged %d times, want once: %q", n, logs)
	}
}

// Without the readiness file Wait fails at its deadline with ErrNotReady, naming the file.
func TestWaitNotReady(t *testing.T) {
	srv := startSSHD(t)
	ready := filepath.Join(t.TempDir(), "never")
	err := SSHTarget{Addr: srv.addr, User: currentUser(), Signer: srv.client, HostKey: srv.hostKey}.Wait(context.Background(), ready, 20*time.Second, nil)
	if !errors.Is(err, ErrSSHTimeout) || !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), ready) {
		t.Errorf("Wait = %v, want ErrSSHTimeout and ErrNotReady naming %s", err, ready)
	}
}

// Run and the 32-bit probe go over a verified connection; this machine is no ARM builder.
func TestRunAndRuns32BitARM(t *testing.T) {
	srv := startSSHD(t)
	target := SSHTarget{Addr: srv.addr, User: currentUser(), Signer: srv.client, HostKey: srv.hostKey}
	ctx := context.Background()
	if out, err := target.Run(ctx, "echo hello"); err != nil || out != "hello\n" {
		t.Errorf("Run(echo hello) = %q, %v", out, err)
	}
	var exit *ssh.ExitError
	if _, err := target.Run(ctx, "echo broken >&2; exit 3"); !errors.As(err, &exit) || exit.ExitStatus() != 3 || !strings.Contains(err.Error(), "broken") {
		t.Errorf("Run(exit 3) = %v, want exit status 3 with its stderr", err)
	}
	other, _ := newEd25519Signer(t)
	if _, err := (SSHTarget{Addr: srv.addr, User: currentUser(), Signer: srv.client, HostKey: other.PublicKey()}).Run(ctx, "true"); !errors.Is(err, ErrHostKeyMismatch) {
		t.Errorf("Run pinned to another key = %v, want ErrHostKeyMismatch", err)
	}
	uname, err := exec.Command("uname", "-m").Output()
	if err != nil {
		t.Fatal(err)
	}
	ok, why, err := target.Runs32BitARM(ctx)
	if err != nil {
		t.Fatalf("Runs32BitARM: %v", err)
	}
	t.Logf("this machine (%s) runs 32-bit ARM code: %t (%s)", strings.TrimSpace(string(uname)), ok, why)
	if m := strings.TrimSpace(string(uname)); m == "x86_64" && (ok || !strings.Contains(why, "x86_64, not ARM")) {
		t.Errorf("Runs32BitARM on x86_64 = %t, %q; want false, not ARM", ok, why)
	}
}
