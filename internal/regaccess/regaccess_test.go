package regaccess_test

import (
	"os/exec"
	"strings"
	"testing"

	"shipyard/internal/regaccess"
)

func TestPlainHTTP(t *testing.T) {
	flag := []string{"registry.lan:5000", "10.99.0.7", "[fd00::5]:5000", "mirror.lan:*"}
	tests := []struct {
		host string
		want bool
	}{
		// the loopback, always
		{"127.0.0.1:5000", true},
		{"127.0.0.1", true},
		{"127.1.2.3:5000", true},
		{"[::1]:5000", true},
		{"::1", true},
		{"[::ffff:127.0.0.1]:5000", true},
		{"localhost:5000", true},
		{"LOCALHOST", true},
		// the flag's hosts: with a port, that port only; without, any port
		{"registry.lan:5000", true},
		{"Registry.LAN:5000", true},
		{"registry.lan:5001", false},
		{"registry.lan", false},
		{"10.99.0.7:5000", true},
		{"10.99.0.7", true},
		{"[fd00::5]:5000", true},
		{"[fd00:0::5]:5000", true},
		{"[fd00::5]:6000", false},
		{"mirror.lan:443", true},
		// private ranges are not enough
		{"10.99.0.5:5000", false},
		{"10.0.0.1", false},
		{"172.16.0.1:5000", false},
		{"172.31.255.1:5000", false},
		{"192.168.1.10:5000", false},
		{"[fd00::6]:5000", false},
		{"registry.localhost:5000", false},
		{"127.0.0.1.nip.io:5000", false},
		// public, never
		{"registry.gitlab.com", false},
		{"registry.gitlab.com:443", false},
		{"8.8.8.8:5000", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := regaccess.PlainHTTP(tc.host, flag); got != tc.want {
			t.Errorf("PlainHTTP(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
	if regaccess.PlainHTTP("10.99.0.5:5000", nil) || !regaccess.PlainHTTP("127.0.0.1:5000", nil) {
		t.Error("without the flag only the loopback may speak plain HTTP")
	}
}

func TestPrefix(t *testing.T) {
	tests := map[string]string{
		"registry.gitlab.com":                         "registry.gitlab.com",
		"Registry.GitLab.com/Group/Project/":          "registry.gitlab.com/Group/Project",
		"https://registry.gitlab.com/group/project":   "registry.gitlab.com/group/project",
		"registry.gitlab.com/group/project:1.2.3":     "registry.gitlab.com/group/project",
		"registry.gitlab.com/group/project@sha256:ab": "registry.gitlab.com/group/project",
		"127.0.0.1:5000":                              "127.0.0.1:5000",
		"127.0.0.1:5000/releases/app:1":               "127.0.0.1:5000/releases/app",
		"docker.io/library/alpine":                    "index.docker.io/library/alpine",
	}
	for in, want := range tests {
		if got := regaccess.Prefix(in); got != want {
			t.Errorf("Prefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	creds := []string{
		"registry.gitlab.com",                       // 0: the host, e.g. $CI_REGISTRY
		"registry.gitlab.com/group/project",         // 1: the build registry, $CI_REGISTRY_IMAGE
		"registry.gitlab.com/group/project/release", // 2: a deploy token for the releases
		"127.0.0.1:5000",                            // 3
		"127.0.0.1:5001/a",                          // 4
	}
	tests := []struct {
		repo string
		want int
	}{
		{"registry.gitlab.com/group/project/app", 1},
		{"registry.gitlab.com/group/project", 1},
		{"registry.gitlab.com/group/project/release/app", 2},
		{"registry.gitlab.com/group/project/release", 2},
		{"registry.gitlab.com/group/project/releases/app", 1}, // a segment boundary, not a string prefix
		{"registry.gitlab.com/group/projectx/app", 0},
		{"registry.gitlab.com/other/app", 0},
		{"registry.gitlab.com/group/project/app:1.0.0-amd64", 1},
		{"127.0.0.1:5000/anything", 3},
		{"127.0.0.1:50001/anything", -1},
		{"127.0.0.1:5001/a/app", 4},
		{"127.0.0.1:5001/ab/app", -1},
		{"registry.example.com/group/project/app", -1},
	}
	for _, tc := range tests {
		if got := regaccess.Match(creds, tc.repo); got != tc.want {
			t.Errorf("Match(%q) = %d, want %d", tc.repo, got, tc.want)
		}
	}
	// Of equal prefixes, the last given wins.
	if got := regaccess.Match([]string{"r.io/a", "r.io", "https://r.io/a/"}, "r.io/a/b"); got != 2 {
		t.Errorf("Match with a repeated prefix = %d, want the last (2)", got)
	}
}

// TestPure: the decisions link neither a process nor a network client.
func TestPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "os/exec" || pkg == "net/http" || pkg == "net" {
			t.Errorf("internal/regaccess links %s", pkg)
		}
	}
}

func TestFromFunction(t *testing.T) {
	tunneled := []string{"5000"}
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"127.0.0.1:5000", true},
		{"localhost:5000", true},
		{"LocalHost:5000", false}, // the tunnel's dialer routes the names as TunnelHosts spells them
		{"[::1]:5000", false},
		{"127.0.0.1:5001", false},
		{"localhost", false},
		{"127.0.0.2:5000", false},
		{"10.99.0.1:5000", true},
		{"registry.example:5000", true},
		{"registry.example", true},
	} {
		if got := regaccess.FromFunction(tc.host, tunneled); got != tc.want {
			t.Errorf("FromFunction(%q, %v) = %v, want %v", tc.host, tunneled, got, tc.want)
		}
	}
	if regaccess.FromFunction("127.0.0.1:5000", nil) {
		t.Error("a loopback registry is reachable from a function without any tunnel")
	}
}
