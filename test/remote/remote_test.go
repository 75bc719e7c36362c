//go:build full

package remote

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/enginever"
	"shipyard/internal/imageref"
)

// The engine version pinned by hack/engine.
const wantVersion = enginever.Version

// remoteDNS is the remote engine's bridge address (hack/remote-engine: --network-cidr 10.88.0.0/16),
// the nameserver of its containers; the main engine's containers get 10.87.0.1.
const remoteDNS = "10.88.0.1"

// The client reaches the remote engine over ssh: it answers with the pinned version and its own name.
func TestVersionThroughSSH(t *testing.T) {
	r := onRemote(t, 2*time.Minute, "-vv", "--progress", "plain", "core", "version")
	if r.Err != nil {
		t.Fatalf("dagger core version on %s: %v\n%s", rem.RunnerHost, r.Err, tail(r.Stderr, 20))
	}
	type engine struct{ Version, Name string }
	want := engine{Version: wantVersion, Name: rem.EngineName}
	got := engine{Version: strings.TrimSpace(r.Stdout), Name: engineName(r.Stderr)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("engine behind %s (-want +got):\n%s\n%s", rem.RunnerHost, diff, tail(r.Stderr, 20))
	}
}

// The remote engine's socket exists only in its own mount namespace: the same path on this host is
// either absent or another engine's (the main engine also listens on /run/dagger/engine.sock), so
// ssh is the only way in.
func TestRemoteSocketIsNotOnTheHost(t *testing.T) {
	needRemote(t)
	if _, err := os.Stat(rem.Socket); errors.Is(err, os.ErrNotExist) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := daggerCmd(ctx, "unix://"+rem.Socket, "-vv", "--progress", "plain", "core", "version")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dagger core version on the host's unix://%s: %v\n%s", rem.Socket, err, tail(string(out), 10))
	}
	got := engineName(string(out))
	t.Logf("the host's unix://%s is engine %q", rem.Socket, got)
	if got == "" || got == rem.EngineName {
		t.Errorf("the host's %s reaches engine %q; want another engine than the remote %q", rem.Socket, got, rem.EngineName)
	}
}

// Containers of both platforms run on the remote engine (arm64 through the host's qemu binfmt), on
// the remote engine's own container network.
func TestContainersRunPerPlatform(t *testing.T) {
	for _, tc := range []struct {
		platform, machine string
	}{
		{"linux/amd64", "x86_64"},
		{"linux/arm64", "aarch64"},
	} {
		t.Run(tc.platform, func(t *testing.T) {
			r := onRemote(t, 10*time.Minute, "core", "container", "--platform", tc.platform,
				"from", "--address", "debian:bookworm-slim",
				// a new value each run: the engine runs the exec instead of answering from its cache
				"with-env-variable", "--name", "RUN_ID", "--value", randomHex(t),
				"with-exec", "--args", "sh,-c,uname -m && sed -n s/^nameserver.//p /etc/resolv.conf",
				"stdout")
			if r.Err != nil {
				t.Fatalf("running %s container: %v\n%s", tc.platform, r.Err, tail(r.Stderr, 20))
			}
			want := []string{tc.machine, remoteDNS}
			got := strings.Fields(r.Stdout)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("uname -m and nameserver in a %s container (-want +got):\n%s", tc.platform, diff)
			}
		})
	}
}

// A container built on the remote engine is published to the registry address the remote reaches,
// and the host then finds it there: in the catalog, with the digest dagger printed and the file the
// build added.
func TestPublishFromRemoteIsVisibleFromHost(t *testing.T) {
	needRemote(t)
	token := randomHex(t)
	repo := "shipyard-remote-test/publish-" + token[:12]
	ref := rem.Registry + "/" + repo + ":t"
	r := onRemote(t, 10*time.Minute, "core", "container",
		"from", "--address", "debian:bookworm-slim",
		"with-new-file", "--path", "/proof", "--contents", token,
		"publish", "--address", ref)
	if r.Err != nil {
		t.Fatalf("publishing %s from the remote engine: %v\n%s", ref, r.Err, tail(r.Stderr, 20))
	}
	published := strings.TrimSpace(r.Stdout)
	at, err := imageref.ParsePinned(published)
	if err != nil || !strings.HasPrefix(published, ref+"@sha256:") {
		t.Fatalf("publish printed %q, want %s@sha256:... (%v)", published, ref, err)
	}
	digest := at.Digest

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reg, err := name.NewRegistry(rem.Registry, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := remote.Catalog(ctx, reg, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("listing http://%s/v2/_catalog from the host: %v", rem.Registry, err)
	}
	if !slices.Contains(repos, repo) {
		t.Errorf("the host does not see %s in http://%s/v2/_catalog (%d repositories)", repo, rem.Registry, len(repos))
	}

	tagRef, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(tagRef, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("reading %s from the host: %v", ref, err)
	}
	t.Cleanup(func() {
		d, err := name.NewDigest(rem.Registry+"/"+repo+"@"+digest, name.Insecure)
		if err == nil {
			err = remote.Delete(d)
		}
		if err != nil {
			t.Logf("deleting %s: %v", ref, err)
		}
	})
	got, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(digest, got.String()); diff != "" {
		t.Errorf("digest of %s as the host reads it (-published +read):\n%s", ref, diff)
	}
	proof, err := fileInTopLayer(img, "proof")
	if err != nil {
		t.Fatalf("reading /proof from %s: %v", ref, err)
	}
	if diff := cmp.Diff(token, proof); diff != "" {
		t.Errorf("/proof in the published image (-want +got):\n%s", diff)
	}
}

// An unreachable remote is reported with the ssh error that says why, while the client is still
// trying. dagger v0.19.10 itself does not give up: it retries the connection every second for 10
// minutes (engine/client/buildkit.go waits on the engine with a 10-minute timeout), so callers must
// bound it with their own deadline; this test's 30-second deadline is that safety net.
func TestUnreachableRemoteIsReported(t *testing.T) {
	needRemote(t)
	u, err := url.Parse(rem.RunnerHost)
	if err != nil {
		t.Fatalf("parsing SHIPYARD_REMOTE_RUNNER_HOST: %v", err)
	}
	// an address in the remote's subnet where no host answers
	absent := net.ParseIP(rem.SSHHost).To4()
	if absent == nil {
		t.Fatalf("SHIPYARD_REMOTE_SSH_HOST %q is not an IPv4 address", rem.SSHHost)
	}
	absent = net.IPv4(absent[0], absent[1], absent[2], absent[3]+1)
	runner := func(host, port string) string {
		v := *u
		v.Host = net.JoinHostPort(host, port)
		return v.String()
	}
	refused := freePortOn(t, rem.SSHHost)
	for _, tc := range []struct {
		name, runnerHost, want string
	}{
		{"no sshd on the port", runner(rem.SSHHost, refused),
			fmt.Sprintf("connect to host %s port %s: Connection refused", rem.SSHHost, refused)},
		{"port silently dropped", runner(rem.SSHHost, rem.BlackholePort),
			fmt.Sprintf("connect to host %s port %s: Connection timed out", rem.SSHHost, rem.BlackholePort)},
		{"no host at the address", runner(absent.String(), rem.SSHPort),
			fmt.Sprintf("connect to host %s port %s: No route to host", absent, rem.SSHPort)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := watchDagger(tc.runnerHost, tc.want, 30*time.Second, "-vv", "--progress", "plain", "core", "version")
			after := "never"
			if w.Matched {
				after = "after " + w.After.Round(100*time.Millisecond).String()
			}
			t.Logf("%s: cause reported %s; dagger exited on its own: %v (%v)", tc.runnerHost, after, w.Exited, w.Err)
			if w.Err == nil {
				t.Fatalf("dagger core version succeeded on the unreachable %s:\n%s", tc.runnerHost, tail(w.Output, 10))
			}
			if !exitErr(w.Err) {
				t.Fatalf("dagger did not run: %v", w.Err)
			}
			if !w.Matched {
				t.Errorf("dagger never reported %q for %s within the deadline; last output:\n%s",
					tc.want, tc.runnerHost, tail(w.Output, 10))
			}
			if strings.Contains(w.Output, "connected name=") {
				t.Errorf("dagger connected to an engine through %s:\n%s", tc.runnerHost, tail(w.Output, 10))
			}
		})
	}
}

// freePortOn is a TCP port on host with nothing listening (a connection there is refused).
func freePortOn(t *testing.T, host string) string {
	t.Helper()
	for port := 2300; port < 2400; port++ {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, fmt.Sprint(port)), 2*time.Second)
		if err == nil {
			c.Close()
			continue
		}
		if strings.Contains(err.Error(), "connection refused") {
			return fmt.Sprint(port)
		}
	}
	t.Fatalf("no refused TCP port on %s in 2300-2399", host)
	return ""
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// fileInTopLayer returns the content of path in the image's last layer.
func fileInTopLayer(img v1.Image, path string) (string, error) {
	layers, err := img.Layers()
	if err != nil {
		return "", fmt.Errorf("listing layers: %w", err)
	}
	if len(layers) == 0 {
		return "", fmt.Errorf("the image has no layers")
	}
	rc, err := layers[len(layers)-1].Uncompressed()
	if err != nil {
		return "", fmt.Errorf("opening the top layer: %w", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("%s is not in the top layer", path)
		}
		if err != nil {
			return "", fmt.Errorf("reading the top layer: %w", err)
		}
		if strings.TrimPrefix(h.Name, "./") == path {
			b, err := io.ReadAll(tr)
			return string(b), err
		}
	}
}

// An SSH session on the test host runs the image's shell start-up files (Debian's skeleton), not
// this machine's: the instance's disk is an overlay of this machine's /, and a ~/.bashrc that
// starts tools (a pyenv init, whose rehash lock made every session of a busy host wait up to a
// minute) would run in every session the engine's clients open.
func TestSSHSessionUsesTheImagesDotfiles(t *testing.T) {
	needRemote(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ssh", "-p", rem.SSHPort, rem.SSHHost,
		"cmp ~/.bashrc /etc/skel/.bashrc && cmp ~/.profile /etc/skel/.profile && echo same").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "same" {
		t.Fatalf("root's ~/.bashrc and ~/.profile on the test host are not Debian's /etc/skel ones (%v):\n%s", err, out)
	}
}
