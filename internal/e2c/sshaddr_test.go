package e2c

import (
	"strings"
	"testing"
)

func TestParseSSHAddr(t *testing.T) {
	tests := []struct {
		addr       string
		host, port string
		known      string // KnownHosts("ssh-ed25519 AAAA")
		runner     string // RunnerURL("admin", "/run/dagger/engine.sock")
		wantErr    string
	}{
		{addr: "203.0.113.7:22", host: "203.0.113.7", port: "22",
			known: "203.0.113.7 ssh-ed25519 AAAA\n", runner: "ssh://admin@203.0.113.7:22/run/dagger/engine.sock"},
		{addr: "builder.example.com:2222", host: "builder.example.com", port: "2222",
			known: "[builder.example.com]:2222 ssh-ed25519 AAAA\n", runner: "ssh://admin@builder.example.com:2222/run/dagger/engine.sock"},
		{addr: "[2001:db8::1]:22", host: "2001:db8::1", port: "22",
			known: "2001:db8::1 ssh-ed25519 AAAA\n", runner: "ssh://admin@[2001:db8::1]:22/run/dagger/engine.sock"},
		{addr: "[2001:db8::1]:2222", host: "2001:db8::1", port: "2222",
			known: "[2001:db8::1]:2222 ssh-ed25519 AAAA\n", runner: "ssh://admin@[2001:db8::1]:2222/run/dagger/engine.sock"},
		{addr: "2001:db8::1", host: "2001:db8::1", port: "22",
			known: "2001:db8::1 ssh-ed25519 AAAA\n", runner: "ssh://admin@[2001:db8::1]:22/run/dagger/engine.sock"},
		{addr: "[2001:db8::1]", host: "2001:db8::1", port: "22",
			known: "2001:db8::1 ssh-ed25519 AAAA\n", runner: "ssh://admin@[2001:db8::1]:22/run/dagger/engine.sock"},
		{addr: "::1", host: "::1", port: "22",
			known: "::1 ssh-ed25519 AAAA\n", runner: "ssh://admin@[::1]:22/run/dagger/engine.sock"},
		{addr: "builder", host: "builder", port: "22",
			known: "builder ssh-ed25519 AAAA\n", runner: "ssh://admin@builder:22/run/dagger/engine.sock"},
		{addr: "", wantErr: "names no host"},
		{addr: ":22", wantErr: "names no host"},
		{addr: "host:", wantErr: `has port ""`},
		{addr: "host:ssh", wantErr: `has port "ssh"`},
		{addr: "host:65536", wantErr: `has port "65536"`},
		{addr: "host:022", wantErr: `has port "022"`},
		{addr: "[2001:db8::1", wantErr: "brackets around no IPv6 address"},
		{addr: "[builder]", wantErr: "brackets around no IPv6 address"},
		{addr: "a:b:c", wantErr: "neither host:port nor an IPv6 address"},
		{addr: "user@host:22", wantErr: "holds a space, a slash or an @"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			e, err := ParseSSHAddr(tt.addr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "[IPv6]:port") {
					t.Fatalf("ParseSSHAddr(%q) = %+v, %v; want an error saying %q and what to write", tt.addr, e, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSSHAddr(%q): %v", tt.addr, err)
			}
			if e.Host != tt.host || e.Port != tt.port {
				t.Errorf("ParseSSHAddr(%q) = host %q port %q, want %q %q", tt.addr, e.Host, e.Port, tt.host, tt.port)
			}
			if got := e.KnownHosts("ssh-ed25519 AAAA"); got != tt.known {
				t.Errorf("KnownHosts = %q, want %q", got, tt.known)
			}
			if got := e.RunnerURL("admin", "/run/dagger/engine.sock"); got != tt.runner {
				t.Errorf("RunnerURL = %q, want %q", got, tt.runner)
			}
			// what SSHAddr writes for an instance parses back to the same endpoint
			again, err := ParseSSHAddr(e.Addr())
			if err != nil || again != e {
				t.Errorf("ParseSSHAddr(%q) = %+v, %v; want %+v", e.Addr(), again, err, e)
			}
		})
	}
}

// TestSSHAddrOfIPv6Instance checks that the address the Manager dials for an instance with an
// IPv6 address splits back into that address and the configured port.
func TestSSHAddrOfIPv6Instance(t *testing.T) {
	m := NewManager(nil, Config{SSHPort: 2222}, nil)
	e, err := ParseSSHAddr(m.SSHAddr(State{PublicIP: "2001:db8::7"}))
	if err != nil || e != (SSHEndpoint{Host: "2001:db8::7", Port: "2222"}) {
		t.Errorf("ParseSSHAddr(SSHAddr) = %+v, %v; want host 2001:db8::7 port 2222", e, err)
	}
}
