package testenv

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestSessionLost(t *testing.T) {
	for _, c := range []struct {
		name, stderr string
		want         bool
	}{
		{"the engine race, as Dagger v0.19.10 prints it",
			`Error: failed to get configured module: failed to stat local path: failed to stat /work/main: failed to get requester session: session for "x1q3tl8o2c" not found`, true},
		{"the module's own message about a missing tag",
			`Error: call release: tag "nope" not found in the build registry`, false},
		{"a module that failed to load for a reason of its own",
			`Error: failed to get configured module: failed to load module: ci/go.mod not found`, false},
		{"a builder session the product reports",
			`Error: failed to get requester session of the ARM builder: not reachable`, false},
		{"nothing", "", false},
	} {
		if got := SessionLost(c.stderr); got != c.want {
			t.Errorf("%s: SessionLost = %v, want %v", c.name, got, c.want)
		}
	}
}

// Decoded finds a value inside base64 whichever bytes join the run on its left, and inside base64
// inside that.
func TestDecoded(t *testing.T) {
	const secret = "s3cr3t-canary-for-the-decoder"
	call := "\x0a\x09withNewFile\x12\x2a\x0a\x08contents\x12\x1e" + secret + "\x18\x01"
	enc := base64.StdEncoding.EncodeToString([]byte(call))
	nested := base64.StdEncoding.EncodeToString([]byte("E2C_SSH_PRIVATE_KEY=" + base64.StdEncoding.EncodeToString([]byte(call)) + "\n"))
	for name, record := range map[string]string{
		"as it is":                     enc,
		"after a protobuf length 'A'":  "\x0a\x41" + enc + "\x12",
		"after two run characters":     "\x0aAB" + enc,
		"in a JSON string":             `{"key":"dagger.io/dag.call","value":{"stringValue":"` + enc + `"}}`,
		"base64 inside base64":         "\x22" + nested + "\x22",
		"unpadded and cut by one char": "x" + strings.TrimRight(enc, "=")[:len(strings.TrimRight(enc, "="))-1] + " ",
	} {
		if got := Decoded([]byte(record)); !bytes.Contains(got, []byte(secret)) {
			t.Errorf("%s: the value is not in what the record decodes to:\n%q", name, got)
		}
	}
	if got := Decoded([]byte("no base64 here: short AAAA runs")); len(got) != 0 {
		t.Errorf("a record without base64 decodes to %q", got)
	}
}
