package testenv

import (
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// VMHostAlias is the host as the arm64 VMs see it: qemu's user-mode network maps the guest's
// connections to this address onto the host's loopback. It is the address of hack/remote-engine's
// relay too (slot 0's side of its veth), so a registry named 10.99.0.1:5000 is the same registry
// for this machine's engine, for the namespace test hosts and for a VM.
const VMHostAlias = "10.99.0.1"

// VMDir is where hack/arm64-vm keeps instance name's disk, seed and serial console (console.log).
func VMDir(name string) string {
	return filepath.Join(StateDir(), "vm", name)
}

// bootVM starts a Debian 12 arm64 virtual machine named id (hack/arm64-vm: qemu-system-aarch64
// under emulation, Debian's kernel, cloud-init and sshd) with script as its NoCloud user-data
// (gzip-compressed, as EC2 hands the module's user data over), its sshd on VMHostAlias, and
// forwards publicIP:22 (if any) to it, as an instance's public IP leads to the instance;
// pubKeyFile (if any) is the launch's key pair, in its meta-data as EC2's metadata carries it
// (cloud-init authorises it for admin). stop powers it off and deletes it.
func bootVM(ctx context.Context, id, publicIP, script, pubKeyFile string) (TestHost, func() error, error) {
	tool := filepath.Join(Root(), "hack", "arm64-vm")
	h := TestHost{SSHHost: VMHostAlias, PublicIP: publicIP, EngineName: id, Registry: VMHostAlias + ":5000"}
	port, err := freePortOn(VMHostAlias)
	if err != nil {
		return h, nil, err
	}
	h.SSHPort = port
	dir, err := os.MkdirTemp("", "shipyard-vm-")
	if err != nil {
		return h, nil, err
	}
	// cloud-init reads gzip-compressed user data itself: the VM gets the bytes EC2 would give it
	file := filepath.Join(dir, "user-data")
	if err := writeGzip(file, script); err != nil {
		return h, nil, err
	}
	var rules [][]string
	if publicIP != "" {
		rules = [][]string{
			{"PREROUTING", "-d", publicIP, "-p", "tcp", "--dport", "22", "-j", "DNAT", "--to-destination", net.JoinHostPort(VMHostAlias, strconv.Itoa(port))},
			{"OUTPUT", "-d", publicIP, "-p", "tcp", "--dport", "22", "-j", "DNAT", "--to-destination", net.JoinHostPort(VMHostAlias, strconv.Itoa(port))},
			// qemu's user network hands the guest a connection with its real source address
			// unless that is a loopback one: an engine container's 10.87.x.y, the very range the
			// builder's engine gives its own containers, so once that engine runs the guest
			// answers the product into its own bridge and every new connection stalls. As a
			// runner's NAT would, the connection comes from this machine's address instead.
			{"INPUT", "-d", VMHostAlias, "-p", "tcp", "--dport", strconv.Itoa(port), "-j", "SNAT", "--to-source", VMHostAlias},
		}
	}
	stop := func() error {
		defer os.RemoveAll(dir)
		// the console outlives the VM: the serial output is what explains a failed boot or build
		if b, err := os.ReadFile(filepath.Join(VMDir(id), "console.log")); err == nil {
			_ = os.MkdirAll(filepath.Join(filepath.Dir(filepath.Dir(VMDir(id))), "logs", "vm"), 0o755)
			_ = os.WriteFile(filepath.Join(filepath.Dir(filepath.Dir(VMDir(id))), "logs", "vm", id+"-console.log"), b, 0o644)
		}
		for _, r := range rules {
			_ = exec.Command("iptables", append([]string{"-w", "-t", "nat", "-D"}, r...)...).Run()
		}
		if out, err := exec.Command(tool, "stop", "--name", id, "--rm").CombinedOutput(); err != nil {
			return fmt.Errorf("stopping the VM of %s: %v\n%s", id, err, out)
		}
		return nil
	}
	for _, r := range rules {
		if out, err := exec.Command("iptables", append([]string{"-w", "-t", "nat", "-I"}, r...)...).CombinedOutput(); err != nil {
			return h, stop, fmt.Errorf("forwarding %s:22 to the VM: %v\n%s", publicIP, err, out)
		}
	}
	args := []string{"boot", "--name", id, "--instance-id", id, "--hostname", id,
		"--user-data", file, "--ssh-addr", VMHostAlias, "--ssh-port", strconv.Itoa(port), "--host-alias", VMHostAlias}
	if pubKeyFile != "" {
		args = append(args, "--public-key", pubKeyFile)
	}
	cmd := exec.CommandContext(ctx, tool, args...)
	out, err := cmd.CombinedOutput()
	h.Output = string(out)
	if err != nil {
		return h, stop, fmt.Errorf("hack/arm64-vm boot --name %s: %v\n%s", id, err, out)
	}
	return h, stop, nil
}

// VMConsole is what instance name's VM printed on its serial console so far.
func VMConsole(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(VMDir(name), "console.log"))
	return string(b), err
}

func writeGzip(path, content string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(f)
	if _, err := zw.Write([]byte(content)); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// freePortOn is a TCP port nothing listens on at addr.
func freePortOn(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, fmt.Errorf("no free port on %s (is hack/remote-engine up, which gives this machine that address?): %v", addr, err)
	}
	defer l.Close()
	_, p, _ := strings.Cut(l.Addr().String(), ":")
	return strconv.Atoi(p)
}
