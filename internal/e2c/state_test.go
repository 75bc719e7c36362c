package e2c

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/provision"
)

func TestStateFileName(t *testing.T) {
	if got, want := StateFileName("4711"), ".e2c_instance_state_4711"; got != want {
		t.Errorf("StateFileName = %q, want %q", got, want)
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, StateFileName("4711"))
	first := State{InstanceID: "i-0123456789abcdef0", Strategy: StrategyTemplate, Region: "eu-north-1", JobID: "4711", Spot: true,
		LaunchedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	second := first
	second.PublicIP = "203.0.113.7"
	// a builder the module provisioned: the job's generated keys and the 32-bit answer
	third := second
	no := false
	third.SSHHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyForTheStateFileOnly0000000000000"
	third.SSHPrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
	third.Runs32BitARM = &no
	for _, want := range []State{first, second, third} {
		if err := WriteState(path, want); err != nil {
			t.Fatalf("WriteState: %v", err)
		}
		got, err := ReadState(path)
		if err != nil {
			t.Fatalf("ReadState: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("state (-want +got):\n%s", diff)
		}
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the state file (it may hold the job's client key) is %v (%v), want mode 0600", st.Mode(), err)
	}
	// The temporary files were renamed away: only the state file is left.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{StateFileName("4711")}, names); diff != "" {
		t.Errorf("directory content (-want +got):\n%s", diff)
	}
}

func TestReadStateErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadState(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error %v, want fs.ErrNotExist", err)
	}
	for name, content := range map[string]string{"garbage": "{not json", "no id": `{"strategy":"template"}`} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadState(path); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: error %v, want a parse error", name, err)
		}
	}
	if err := WriteState(filepath.Join(dir, "x"), State{}); err == nil {
		t.Error("WriteState accepted a state without instance id")
	}
}

// The generated client key is written base64-encoded, the form the seed keeps E2C_SSH_PRIVATE_KEY
// in, so the state file stays one KEY=VALUE a line.
func TestFormatStateKeys(t *testing.T) {
	pem := "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
	text := FormatState(State{InstanceID: "i-0123456789abcdef0", SSHHostKey: "ssh-ed25519 AAAA", SSHPrivateKey: pem})
	for _, want := range []string{"E2C_SSH_HOST_KEY=ssh-ed25519 AAAA\n", "E2C_SSH_PRIVATE_KEY=LS0tLS1CRUdJTi"} {
		if !strings.Contains(text, want) {
			t.Errorf("state file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "BEGIN OPENSSH") || strings.Contains(text, keyRuns32BitARM) {
		t.Errorf("state file holds the raw key or an unasked 32-bit answer:\n%s", text)
	}
}

// TestParseStateErrors: what ParseState refuses rather than read as another state than the one
// written.
func TestParseStateErrors(t *testing.T) {
	long := "TARGET_INSTANCE_ID=i-1\nE2C_NOTE=" + strings.Repeat("x", 70<<10) + "\nE2C_INSTANCE_STRATEGY=existing\n"
	for name, tt := range map[string]struct{ data, want string }{
		"a line too long to read":           {long, "token too long"},
		"a line break in a JSON value":      {`{"instance_id":"i-1\nE2C_INSTANCE_STRATEGY=existing"}`, `TARGET_INSTANCE_ID holds the control character '\n'`},
		"a private key that is none":        {"TARGET_INSTANCE_ID=i-1\nE2C_SSH_PRIVATE_KEY=0\n", "E2C_SSH_PRIVATE_KEY holds neither a private key"},
		"no instance id":                    {"E2C_INSTANCE_STRATEGY=template\n", "no TARGET_INSTANCE_ID"},
		"a line that is not KEY=VALUE":      {"TARGET_INSTANCE_ID=i-1\noops\n", `line 2 is not KEY=VALUE`},
		"a control character in a KV value": {"TARGET_INSTANCE_ID=i-\x001\n", `TARGET_INSTANCE_ID holds the control character '\x00'`},
	} {
		if s, err := ParseState([]byte(tt.data)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: ParseState = %+v, %v; want an error containing %q", name, s, err, tt.want)
		}
	}
}

// The state file by parts: the client's private key is its one secret part, so that the file
// setup returns never carries the key in a call's arguments, and the text is the seed's form
// byte for byte.
func TestStateTextKeepsTheClientKeySecret(t *testing.T) {
	keys, err := provision.NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	st := State{InstanceID: "i-0123456789abcdef0", PublicIP: "203.0.113.7", Strategy: StrategyTemplate, Region: "eu-north-1",
		JobID: "4711", Spot: true, LaunchedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		SSHHostKey: keys.HostPublic + "\n", SSHPrivateKey: keys.ClientPrivate, Runs32BitARM: &yes}
	encoded := base64.StdEncoding.EncodeToString([]byte(keys.ClientPrivate))
	want := "TARGET_INSTANCE_ID=i-0123456789abcdef0\nE2C_PUBLIC_IP=203.0.113.7\nE2C_INSTANCE_STRATEGY=template\n" +
		"E2C_REGION=eu-north-1\nCI_JOB_ID=4711\nE2C_SPOT=true\nE2C_LAUNCHED_AT=2026-11-25T10:00:00Z\n" +
		"E2C_SSH_HOST_KEY=" + keys.HostPublic + "\nE2C_SSH_PRIVATE_KEY=" + encoded + "\nE2C_BUILDER_RUNS_32BIT=true\n"
	text := StateText(st)
	if diff := cmp.Diff(want, text.String()); diff != "" {
		t.Errorf("state file (-want +got):\n%s", diff)
	}
	if got := FormatState(st); got != want {
		t.Errorf("FormatState differs from the text by parts:\n%s", got)
	}
	if n := text.Secrets(); n != 1 {
		t.Fatalf("%d secret parts, want the client key alone: %+v", n, text)
	}
	for _, p := range text {
		if p.Secret && p.Text != encoded {
			t.Errorf("the secret part is %q, want the client key base64-encoded", p.Text)
		}
	}
	plain := text.Redacted("")
	for _, line := range strings.Split(keys.ClientPrivate, "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") && strings.Contains(plain, line) {
			t.Errorf("a plain part holds a line of the client key: %q", line)
		}
	}
	if strings.Contains(plain, encoded[64:128]) {
		t.Errorf("a plain part holds the client key base64-encoded:\n%s", plain)
	}
	if !strings.Contains(plain, "\nE2C_SSH_PRIVATE_KEY=\nE2C_BUILDER_RUNS_32BIT=true\n") {
		t.Errorf("the plain parts are not the state around the key:\n%s", plain)
	}

	st.SSHPrivateKey = ""
	if n := StateText(st).Secrets(); n != 0 {
		t.Errorf("a state without a client key has %d secret parts", n)
	}
}

// A state file with the key raw over several lines (a hand-edited file) is refused without
// showing any line of it.
func TestParseStateShowsNoKeyLine(t *testing.T) {
	keys, err := provision.NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseState([]byte("TARGET_INSTANCE_ID=i-1\nE2C_SSH_PRIVATE_KEY=" + keys.ClientPrivate))
	if err == nil {
		t.Fatal("ParseState read a raw multi-line key")
	}
	for _, line := range strings.Split(keys.ClientPrivate, "\n") {
		if len(line) >= 16 && strings.Contains(err.Error(), line) {
			t.Errorf("the error shows a line of the key: %v", err)
		}
	}
}
