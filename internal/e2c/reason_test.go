package e2c

import (
	"testing"
	"time"
)

func TestSSHFailureReason(t *testing.T) {
	for _, tt := range []struct{ name, out, want string }{
		{"nothing said", "connect\nwaiting\n", "no answer over SSH"},
		{"refused, repeated", "ssh: connect to host 10.0.0.9 port 22: Connection refused\nretry\nssh: connect to host 10.0.0.9 port 22: Connection refused\n",
			"ssh: connect to host 10.0.0.9 port 22: Connection refused"},
		{"host key", "Host key verification failed.\n", "Host key verification failed."},
		{"the CLI's progress line, coloured", "\x1b[95m32  : \x1b[0m\x1b[90;2m\u2506 \u2506 \x1b[0m\x1b[33m! connection error: desc = \"error reading server preface: command [ssh -l root -p 41869 -- 127.0.0.1 buildctl dial-stdio] has exited with exit status 255, make sure the URL is valid: stderr=ssh: connect to host 127.0.0.1 port 41869: Connection refused\\r\\n\"\x1b[0m\n" +
			"\x1b[95m33  : \x1b[0m! connection error: desc = \"error reading server preface: command [ssh -l root -p 41869 -- 127.0.0.1 buildctl dial-stdio] has exited: stderr=ssh: connect to host 127.0.0.1 port 41869: Connection refused\\r\\n\"\n",
			"ssh: connect to host 127.0.0.1 port 41869: Connection refused"},
		{"last three kept", "ssh: a\nssh: b\nssh: c\nssh: d\n", "ssh: b; ssh: c; ssh: d"},
	} {
		if got := SSHFailureReason(tt.out); got != tt.want {
			t.Errorf("%s: SSHFailureReason = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRemoteVersionFailure(t *testing.T) {
	const limit = 2 * time.Minute
	slow := "89  : ┆ [10.7s] | \x1b[95m3   : \x1b[0m\x1b[90;2m┆ \x1b[0m\x1b[90m[10.4s] \x1b[0m\x1b[90m|\x1b[0m \x1b[2m06:12:19\x1b[0m \x1b[92mINF\x1b[0m connected \x1b[2mname=\x1b[0mi-cee323c49435ed87e \x1b[2mclient-version=\x1b[0mv0.19.10 \x1b[2mserver-version=\x1b[0mv0.19.10\n" +
		"89  : ┆ [27.8s] | \x1b[95m12  : \x1b[0m\x1b[90;2m\x1b[0mloading type definitions\n"
	for _, tt := range []struct{ name, out, want string }{
		// the engine answered (as a fresh engine under emulation does, after 27 s) and then the
		// limit ran out while it loaded its schema: not an SSH problem
		{"connected, then too slow", slow, "SSH and the engine's socket answered (engine v0.19.10), but `dagger core version` did not finish within 2m0s: the builder is overloaded or its engine still starting"},
		{"never connected", "ssh: connect to host 10.0.0.9 port 22: Connection refused\n", "ssh: connect to host 10.0.0.9 port 22: Connection refused"},
		{"nothing said", "connect\n", "no answer over SSH"},
	} {
		if got := RemoteVersionFailure(tt.out, limit); got != tt.want {
			t.Errorf("%s: RemoteVersionFailure = %q, want %q", tt.name, got, tt.want)
		}
	}
}
