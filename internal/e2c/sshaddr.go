package e2c

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// defaultSSHPort is the port of an SSH address that names none.
const defaultSSHPort = "22"

// SSHEndpoint is the builder's SSH address taken apart for the tools that want the host and the
// port separately: ssh -p PORT HOST, a known_hosts line, the engine's ssh:// runner URL.
type SSHEndpoint struct {
	// Host is the host name or address; an IPv6 address is kept without brackets.
	Host string
	// Port is the port, defaultSSHPort when the address names none.
	Port string
}

// ParseSSHAddr splits the builder's SSH address the way net.SplitHostPort does ("host:port",
// "203.0.113.7:22", "[2001:db8::1]:22"), so that an IPv6 address, which holds several colons, is
// never cut at its first one. An address without a port ("host", "2001:db8::1",
// "[2001:db8::1]") is on port 22.
func ParseSSHAddr(addr string) (SSHEndpoint, error) {
	bad := func(why string) (SSHEndpoint, error) {
		return SSHEndpoint{}, fmt.Errorf("the builder's SSH address %q %s: write it as host:port, [IPv6]:port or a bare host (port 22)", addr, why)
	}
	if strings.ContainsAny(addr, " \t\r\n/@") {
		return bad("holds a space, a slash or an @")
	}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
			return bad(fmt.Sprintf("has port %q, which is not a number from 1 to 65535", port))
		}
		if host == "" {
			return bad("names no host")
		}
		if strings.Contains(host, ":") && !isIP(host) {
			return bad("has a host with colons that is no IPv6 address")
		}
		return SSHEndpoint{Host: host, Port: port}, nil
	}
	host := addr
	if inner, ok := strings.CutPrefix(host, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		if !ok || !isIP(inner) {
			return bad("has brackets around no IPv6 address")
		}
		host = inner
	}
	switch {
	case host == "":
		return bad("names no host")
	case strings.ContainsAny(host, "[]"), strings.Contains(host, ":") && !isIP(host):
		return bad("is neither host:port nor an IPv6 address")
	}
	return SSHEndpoint{Host: host, Port: defaultSSHPort}, nil
}

// isIP reports whether s is an IP address (IPv6 with or without a zone).
func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// Addr is the endpoint as host:port, an IPv6 host in brackets (net.JoinHostPort).
func (e SSHEndpoint) Addr() string { return net.JoinHostPort(e.Host, e.Port) }

// KnownHosts is the known_hosts line that pins hostKey ("ssh-ed25519 AAAA…") for the endpoint in
// OpenSSH's form: "HOST KEY" on port 22, "[HOST]:PORT KEY" on any other (an IPv6 host is written
// bare on port 22 and in the brackets otherwise, as ssh looks it up).
func (e SSHEndpoint) KnownHosts(hostKey string) string {
	if e.Port == defaultSSHPort {
		return e.Host + " " + hostKey + "\n"
	}
	return "[" + e.Host + "]:" + e.Port + " " + hostKey + "\n"
}

// RunnerURL is the Dagger engine's ssh:// runner host for user and the engine's socket path:
// ssh://USER@HOST:PORT/SOCKET, an IPv6 host in brackets as a URL needs it.
func (e SSHEndpoint) RunnerURL(user, socket string) string {
	return "ssh://" + user + "@" + e.Addr() + "/" + strings.TrimPrefix(socket, "/")
}
