package testenv

// The test harness's "cloud-init": a launched instance's user data, as the EC2 API (moto) recorded
// it, runs on a test host of hack/remote-engine the way cloud-init runs it at the instance's first
// boot, so that the instance's sshd and engine come up from the product's own user data.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EngineURLEnv is the variable hack/remote-engine boot sets when it runs user data: the script
// (internal/provision) then installs the engine bundle made from the local build
// (file://$SHIPYARD_STATE/remote/engine-bundle.tar, with its sha256 in
// SHIPYARD_BUILDER_ENGINE_SHA256) instead of the one it was rendered with.
const EngineURLEnv = "SHIPYARD_BUILDER_ENGINE_URL"

// UserDataAPI is the part of the EC2 API the harness reads; *ec2.Client satisfies it.
type UserDataAPI interface {
	DescribeInstanceAttribute(ctx context.Context, in *ec2.DescribeInstanceAttributeInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstanceAttributeOutput, error)
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

var _ UserDataAPI = (*ec2.Client)(nil)

// InstanceUserData is the user data EC2 holds for the instance (DescribeInstanceAttribute
// userData), decoded from base64 and, when it is gzip-compressed, decompressed as cloud-init
// does.
func InstanceUserData(ctx context.Context, api UserDataAPI, instanceID string) (string, error) {
	out, err := api.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
		InstanceId: aws.String(instanceID), Attribute: types.InstanceAttributeNameUserData,
	})
	if err != nil {
		return "", fmt.Errorf("reading the user data of %s: %w", instanceID, err)
	}
	if out.UserData == nil || aws.ToString(out.UserData.Value) == "" {
		return "", fmt.Errorf("instance %s has no user data: was it launched with Config.UserData?", instanceID)
	}
	b, err := base64.StdEncoding.DecodeString(aws.ToString(out.UserData.Value))
	if err != nil {
		return "", fmt.Errorf("the user data of %s is not base64: %w", instanceID, err)
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return "", fmt.Errorf("the user data of %s: %w", instanceID, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			return "", fmt.Errorf("the user data of %s is not valid gzip: %w", instanceID, err)
		}
	}
	return string(b), nil
}

// TestHost is a test host of hack/remote-engine booted from user data: the "machine" behind an
// instance's public IP (moto's are fake).
type TestHost struct {
	// Slot is the hack/remote-engine slot (1-9; slot 0 is `hack/remote-engine up`'s).
	Slot int
	// SSHHost and SSHPort are where its sshd listens (10.99.SLOT.2:22).
	SSHHost string
	SSHPort int
	// PublicIP is the instance's public IP that leads to the test host ("" when booted without an
	// instance, by Boot).
	PublicIP string
	// NS is its network namespace, HostIF the host's veth to it.
	NS, HostIF string
	// Registry is the host registry as the test host reaches it (10.99.SLOT.1:5000).
	Registry string
	// EngineName is the name its engine reports when a client connects (its host name).
	EngineName string
	// Output is what the first boot printed (cloud-init-output.log).
	Output string
}

// SSHAddr is host:port of the test host's sshd.
func (h TestHost) SSHAddr() string { return net.JoinHostPort(h.SSHHost, strconv.Itoa(h.SSHPort)) }

// PublicAddr is host:port of its sshd at the instance's public IP (what the product dials).
func (h TestHost) PublicAddr() string { return net.JoinHostPort(h.PublicIP, strconv.Itoa(h.SSHPort)) }

// CloudInit boots a test host from the user data EC2 (moto) recorded for instanceID, as
// cloud-init would at the instance's first boot: as root, on a fresh test host in its own network
// namespace (a free slot of hack/remote-engine, never slot 0), with EngineURLEnv pointing the
// engine download at the local build; and it routes the instance's public IP to that test host
// (through cloud), so that what dials the IP it read from EC2 reaches it. It fails the test when
// the user data fails, showing its output, and stops the test host and the route when the test
// ends. Needs root, hack/engine up, and the main engine's binaries (hack/remote-engine boot checks
// them).
func CloudInit(t *testing.T, api UserDataAPI, cloud *Cloud, instanceID string) TestHost {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	script, err := InstanceUserData(ctx, api, instanceID)
	if err != nil {
		t.Fatal(err)
	}
	ip, _, err := instanceIP(ctx, api, instanceID)
	if err != nil {
		t.Fatal(err)
	}
	if ip == "" {
		t.Fatalf("instance %s has no public IP to route to its test host", instanceID)
	}
	return bootT(t, script, cloud, ip)
}

// Boot is CloudInit with the user data given and no instance (nothing is routed to it).
func Boot(t *testing.T, userData string) TestHost {
	t.Helper()
	return bootT(t, userData, nil, "")
}

func bootT(t *testing.T, userData string, cloud *Cloud, ip string) TestHost {
	t.Helper()
	return bootWith(t, func(TestHost) (string, error) { return userData, nil }, cloud, ip, false)
}

func bootWith(t *testing.T, render func(TestHost) (string, error), cloud *Cloud, ip string, ownEngine bool) TestHost {
	t.Helper()
	start := time.Now()
	h, stop, err := boot(context.Background(), render, cloud, ip, 0, ownEngine)
	if stop != nil {
		t.Cleanup(func() {
			if err := stop(); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
	t.Logf("test host %d booted from the user data in %s", h.Slot, time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// BootFromUserData boots a test host from the user data render gives for it (it knows the test
// host's addresses, e.g. its Registry relay), with the engine the user data installs: by default
// the engine image, pulled by the test host as an instance pulls it. (Boot and CloudInit give test
// hosts this machine's engine build instead, which is faster to start.)
func BootFromUserData(t *testing.T, render func(TestHost) (string, error)) TestHost {
	t.Helper()
	return bootWith(t, render, nil, "", true)
}

// boot claims a free slot, prepares it, routes ip (if any) to it through cloud, and boots it
// from the user data render gives, with the image's sshd held for hold seconds
// (SHIPYARD_IMAGE_SSHD_HOLD) and, when ownEngine, the engine the user data installs instead of
// this machine's build (SHIPYARD_BOOT_ENGINE=user-data). stop powers the test host off, removes
// the route and frees the slot; it is non-nil once a slot was claimed, also when err is not.
func boot(ctx context.Context, render func(TestHost) (string, error), cloud *Cloud, ip string, hold int, ownEngine bool) (TestHost, func() error, error) {
	if os.Geteuid() != 0 {
		return TestHost{}, nil, errors.New("booting a test host needs root (network namespaces, mounts): run the tests as root")
	}
	tool := filepath.Join(Root(), "hack", "remote-engine")
	state, err := remoteState(tool)
	if err != nil {
		return TestHost{}, nil, err
	}
	n, unlock, err := claimSlot(state)
	if err != nil {
		return TestHost{}, nil, err
	}
	h := TestHost{
		Slot: n, SSHHost: fmt.Sprintf("10.99.%d.2", n), SSHPort: 22, PublicIP: ip,
		NS: fmt.Sprintf("shipyard-remote-%d", n), HostIF: fmt.Sprintf("shipyard-rmt%d-h", n),
		Registry: fmt.Sprintf("10.99.%d.1:5000", n), EngineName: fmt.Sprintf("shipyard-remote-%d", n),
	}
	dir, err := os.MkdirTemp("", "shipyard-cloudinit-")
	if err != nil {
		unlock()
		return h, nil, err
	}
	stop := func() error {
		defer unlock()
		defer os.RemoveAll(dir)
		if cloud != nil && ip != "" {
			cloud.Unmap(ip)
		}
		if out, err := exec.Command(tool, "stop", "--slot", strconv.Itoa(n)).CombinedOutput(); err != nil {
			return fmt.Errorf("stopping test host %d: %v\n%s", n, err, out)
		}
		return nil
	}
	userData, err := render(h)
	if err != nil {
		return h, stop, err
	}
	file := filepath.Join(dir, "user-data")
	if err := os.WriteFile(file, []byte(userData), 0o600); err != nil {
		return h, stop, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if cloud != nil && ip != "" {
		// the network first, so the instance's IP answers (refused, then the image's sshd) while it boots
		if out, err := exec.CommandContext(ctx, tool, "prepare", "--slot", strconv.Itoa(n)).CombinedOutput(); err != nil {
			return h, stop, fmt.Errorf("hack/remote-engine prepare --slot %d: %v\n%s", n, err, out)
		}
		if err := cloud.MapTo(ip, h); err != nil {
			return h, stop, err
		}
	}
	cmd := exec.CommandContext(ctx, tool, "boot", "--slot", strconv.Itoa(n), file)
	cmd.Env = append(os.Environ(), fmt.Sprintf("SHIPYARD_IMAGE_SSHD_HOLD=%d", hold))
	if ownEngine {
		cmd.Env = append(cmd.Env, "SHIPYARD_BOOT_ENGINE=user-data")
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	h.Output = stdout.String()
	if err != nil {
		return h, stop, fmt.Errorf("the user data did not boot test host %d: %v\n%s%s", n, err, stdout.String(), stderr.String())
	}
	return h, stop, nil
}

// instanceIP is the instance's public IP ("" while it has none) and its state.
func instanceIP(ctx context.Context, api UserDataAPI, id string) (string, types.InstanceStateName, error) {
	out, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return "", "", fmt.Errorf("describing %s: %w", id, err)
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			var st types.InstanceStateName
			if in.State != nil {
				st = in.State.Name
			}
			return aws.ToString(in.PublicIpAddress), st, nil
		}
	}
	return "", "", fmt.Errorf("instance %s is unknown", id)
}

// remoteState is hack/remote-engine's state directory (SHIPYARD_REMOTE_STATE in its env output).
func remoteState(tool string) (string, error) {
	out, err := exec.Command(tool, "env").Output()
	if err != nil {
		return "", fmt.Errorf("%s env: %w", tool, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "export SHIPYARD_REMOTE_STATE="); ok {
			return strings.Trim(v, `"`), nil
		}
	}
	return "", fmt.Errorf("%s env does not print SHIPYARD_REMOTE_STATE", tool)
}

// RemoteEngineEnv is what `hack/remote-engine env` prints, by name: the test host behind a real
// sshd (slot 0) and its relay of the host registry (10.99.0.1), which the builders of the EC2
// tests pull and push through. It fails the test unless hack/remote-engine up has started it.
func RemoteEngineEnv(t *testing.T, root string) map[string]string {
	t.Helper()
	tool := filepath.Join(root, "hack", "remote-engine")
	out, err := exec.Command(tool, "env").Output()
	if err != nil {
		t.Fatalf("hack/remote-engine env: %v (start it with hack/remote-engine up)", err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "export ")
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = strings.Trim(v, `"`)
		}
	}
	if st, err := exec.Command(tool, "status").CombinedOutput(); err != nil || !strings.Contains(string(st), "running") {
		t.Fatalf("the remote engine is not up (hack/remote-engine up): %s", st)
	}
	return env
}

// claimSlot takes the first free slot 1-9 for this process (a lock file under state, held until
// unlock), so parallel test packages boot separate test hosts.
func claimSlot(state string) (int, func(), error) {
	if err := os.MkdirAll(state, 0o755); err != nil {
		return 0, nil, err
	}
	for n := 1; n <= 9; n++ {
		f, err := os.OpenFile(filepath.Join(state, fmt.Sprintf("slot-%d.lock", n)), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return 0, nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				continue
			}
			return 0, nil, fmt.Errorf("locking test host slot %d: %w", n, err)
		}
		return n, func() { f.Close() }, nil
	}
	return 0, nil, errors.New("all test host slots 1-9 are taken (hack/remote-engine status)")
}

// MotoCommand is moto_server on ip:port as the test world runs it, in its own process group (the
// pyenv shim may fork: kill the whole group). hack/moto is on its PYTHONPATH: its sitecustomize
// corrects moto where it departs from EC2's documented behaviour (a running instance keeps its
// public IP when StartInstances is called again).
func MotoCommand(ip, port string) (*exec.Cmd, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New("moto_server is not on PATH: pip install 'moto[server]==5.2.1'")
	}
	patch := filepath.Join(Root(), "hack", "moto")
	if _, err := os.Stat(filepath.Join(patch, "sitecustomize.py")); err != nil {
		return nil, fmt.Errorf("moto's corrections for the test world: %w (run the tests from a checkout, or set SHIPYARD_ROOT to one)", err)
	}
	cmd := exec.Command(bin, "-H", ip, "-p", port)
	path := patch
	if old := os.Getenv("PYTHONPATH"); old != "" {
		path += string(os.PathListSeparator) + old
	}
	cmd.Env = append(os.Environ(), "PYTHONPATH="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, nil
}

// StartMoto runs moto_server (a real implementation of the EC2 API) on a free loopback port until
// the test ends and returns its URL.
func StartMoto(t *testing.T) string {
	t.Helper()
	return StartMotoOn(t, "127.0.0.1")
}

// StartMotoOn is StartMoto on a free port of the address ip (e.g. the host's address on the test
// hosts' network, which the engine's containers reach without a tunnel).
func StartMotoOn(t *testing.T, ip string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("no free port on %s (is hack/remote-engine up?): %v", ip, err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd, err := MotoCommand(ip, port)
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "moto.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting moto_server: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _, _ = cmd.Process.Wait(); logf.Close() })
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
	}
	log, _ := os.ReadFile(logf.Name())
	t.Fatalf("moto_server did not listen on %s within 60s:\n%s", addr, log)
	return ""
}

// ArmLaunchTemplate creates a launch template for an arm64 AMI of moto's catalogue (t4g.small)
// and returns its id.
func ArmLaunchTemplate(t *testing.T, c *ec2.Client) string {
	t.Helper()
	ctx := context.Background()
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("architecture"), Values: []string{"arm64"}}}})
	if err != nil || len(imgs.Images) == 0 {
		t.Fatalf("moto has no arm64 AMI: %v", err)
	}
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(fmt.Sprintf("arm-builder-%d", time.Now().UnixNano())),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: imgs.Images[0].ImageId, InstanceType: types.InstanceTypeT4gSmall},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(lt.LaunchTemplate.LaunchTemplateId)
}
