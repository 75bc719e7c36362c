//go:build full

package remote

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// remoteHost is the remote engine as hack/remote-engine env describes it.
type remoteHost struct {
	RunnerHost    string // ssh://USER@HOST:PORT/SOCKET
	SSHHost       string
	SSHPort       string
	Socket        string
	Registry      string // host:port the remote engine pushes to and the host reads
	EngineName    string // the name the remote engine reports when a client connects
	BlackholePort string // a port the remote host silently drops
	Dagger        string // the dagger CLI binary
}

var (
	rem       remoteHost
	remoteErr error
)

const upHint = "run hack/remote-engine up && eval \"$(hack/remote-engine env)\" (after hack/engine up)"

func TestMain(m *testing.M) {
	rem, remoteErr = remoteFromEnv()
	if remoteErr == nil {
		remoteErr = sshListening(rem)
	}
	os.Exit(m.Run())
}

func remoteFromEnv() (remoteHost, error) {
	r := remoteHost{
		RunnerHost:    os.Getenv("SHIPYARD_REMOTE_RUNNER_HOST"),
		SSHHost:       os.Getenv("SHIPYARD_REMOTE_SSH_HOST"),
		SSHPort:       os.Getenv("SHIPYARD_REMOTE_SSH_PORT"),
		Socket:        os.Getenv("SHIPYARD_REMOTE_ENGINE_SOCKET"),
		Registry:      os.Getenv("SHIPYARD_REMOTE_REGISTRY"),
		EngineName:    os.Getenv("SHIPYARD_REMOTE_ENGINE_NAME"),
		BlackholePort: os.Getenv("SHIPYARD_REMOTE_BLACKHOLE_PORT"),
		Dagger:        os.Getenv("SHIPYARD_REMOTE_DAGGER"),
	}
	for _, v := range []struct{ name, value string }{
		{"SHIPYARD_REMOTE_RUNNER_HOST", r.RunnerHost}, {"SHIPYARD_REMOTE_SSH_HOST", r.SSHHost},
		{"SHIPYARD_REMOTE_SSH_PORT", r.SSHPort}, {"SHIPYARD_REMOTE_ENGINE_SOCKET", r.Socket},
		{"SHIPYARD_REMOTE_REGISTRY", r.Registry}, {"SHIPYARD_REMOTE_ENGINE_NAME", r.EngineName},
		{"SHIPYARD_REMOTE_BLACKHOLE_PORT", r.BlackholePort},
	} {
		if v.value == "" {
			return r, fmt.Errorf("%s is not set", v.name)
		}
	}
	if r.Dagger == "" {
		p, err := exec.LookPath("dagger")
		if err != nil {
			return r, fmt.Errorf("no dagger CLI: SHIPYARD_REMOTE_DAGGER is not set and dagger is not on PATH")
		}
		r.Dagger = p
	}
	return r, nil
}

// sshListening checks that the remote's sshd answers with an SSH banner. It first checks that the
// address is on a subnet of one of this host's interfaces (the veth hack/remote-engine creates):
// without it, packets to the address would follow the default route off this machine.
func sshListening(r remoteHost) error {
	ip := net.ParseIP(r.SSHHost)
	if ip == nil {
		return fmt.Errorf("SHIPYARD_REMOTE_SSH_HOST %q is not an IP address", r.SSHHost)
	}
	local, err := onLocalSubnet(ip)
	if err != nil {
		return err
	}
	if !local {
		return fmt.Errorf("no interface of this host is on %s's subnet: the remote's network namespace is down", ip)
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(r.SSHHost, r.SSHPort), 3*time.Second)
	if err != nil {
		return fmt.Errorf("the remote engine's sshd does not answer: %w", err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	banner, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(banner, "SSH-2.0-") {
		return fmt.Errorf("%s:%s does not answer like an sshd (banner %q, %v)", r.SSHHost, r.SSHPort, banner, err)
	}
	return nil
}

// onLocalSubnet reports whether ip is inside the subnet of an address of a local interface.
func onLocalSubnet(ip net.IP) (bool, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false, fmt.Errorf("listing this host's addresses: %w", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.Contains(ip) {
			return true, nil
		}
	}
	return false, nil
}

// needRemote fails the test (never skips) when the remote engine is not up.
func needRemote(t *testing.T) {
	t.Helper()
	if remoteErr != nil {
		t.Fatalf("no remote engine: %v\n%s", remoteErr, upHint)
	}
}

// result is what one dagger CLI run printed.
type result struct {
	Stdout, Stderr string
	Err            error
}

// daggerEnv is the process environment with the runner host replaced.
func daggerEnv(runnerHost string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "_EXPERIMENTAL_DAGGER_RUNNER_HOST=") {
			env = append(env, kv)
		}
	}
	return append(env, "_EXPERIMENTAL_DAGGER_RUNNER_HOST="+runnerHost,
		"NO_COLOR=1", "DAGGER_NO_NAG=1", "DAGGER_NO_UPDATE_CHECK=1")
}

// daggerCmd is the dagger CLI on runnerHost, stopped with SIGTERM (then killed) when ctx ends.
func daggerCmd(ctx context.Context, runnerHost string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, rem.Dagger, args...)
	cmd.Env = daggerEnv(runnerHost)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// onRemote runs the dagger CLI against the remote engine.
func onRemote(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	needRemote(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := daggerCmd(ctx, rem.RunnerHost, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	t.Logf("dagger %s: %s (%v)", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond), err)
	return result{Stdout: out.String(), Stderr: errb.String(), Err: err}
}

// watch is the outcome of running dagger until a line of its output matched.
type watch struct {
	Matched bool          // a line contained the wanted text
	After   time.Duration // from start to that line
	Exited  bool          // dagger exited on its own (not stopped by us or by the deadline)
	Err     error         // dagger's exit error
	Output  string        // everything it printed
}

// watchDagger runs dagger on runnerHost until a line of its combined output contains want, then
// stops it; the deadline is the safety net.
func watchDagger(runnerHost, want string, deadline time.Duration, args ...string) watch {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := daggerCmd(ctx, runnerHost, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var (
		w    watch
		mu   sync.Mutex
		all  strings.Builder
		done = make(chan struct{})
	)
	start := time.Now()
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			all.WriteString(line + "\n")
			if !w.Matched && strings.Contains(line, want) {
				w.Matched, w.After = true, time.Since(start)
				cancel()
			}
			mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	if err := cmd.Start(); err != nil {
		w.Err = err
		return w
	}
	w.Err = cmd.Wait()
	_ = pw.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	w.Exited = ctx.Err() == nil
	w.Output = all.String()
	return w
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// engineName is the name the engine reported in dagger's "connected name=..." log line.
func engineName(stderr string) string {
	m := regexp.MustCompile(`connected name=(\S+)`).FindStringSubmatch(ansi.ReplaceAllString(stderr, ""))
	if m == nil {
		return ""
	}
	return m[1]
}

// tail is the last n lines of s, for failure messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// exitErr reports whether err is a process exit (as opposed to a failure to start).
func exitErr(err error) bool {
	var e *exec.ExitError
	return errors.As(err, &e)
}
