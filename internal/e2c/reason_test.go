package e2c

import "testing"

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
