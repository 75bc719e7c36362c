package e2c

import "testing"

func TestSSHFailureReason(t *testing.T) {
	for _, tt := range []struct{ name, out, want string }{
		{"nothing said", "connect\nwaiting\n", "no answer over SSH"},
		{"refused, repeated", "ssh: connect to host 10.0.0.9 port 22: Connection refused\nretry\nssh: connect to host 10.0.0.9 port 22: Connection refused\n",
			"ssh: connect to host 10.0.0.9 port 22: Connection refused"},
		{"host key", "Host key verification failed.\n", "Host key verification failed."},
		{"last three kept", "ssh: a\nssh: b\nssh: c\nssh: d\n", "ssh: b; ssh: c; ssh: d"},
	} {
		if got := SSHFailureReason(tt.out); got != tt.want {
			t.Errorf("%s: SSHFailureReason = %q, want %q", tt.name, got, tt.want)
		}
	}
}
