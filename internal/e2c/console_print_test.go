package e2c

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"shipyard/internal/provision"
)

// A builder prints its host keys on its console as cloud-init's keys_to_console does (the user
// data's shipyard-host-keys, run at every boot and at the end of the script): after a first
// boot's block of the image's own keys, the newest block is the builder's key, checked against
// its printed fingerprint, and it is the key pinned.
func TestBuilderPrintsItsHostKeysAsCloudInit(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen (openssh-client) is not installed: the printed fingerprints come from it")
	}
	keys := jobKeys(t)
	script, err := provision.UserData(provision.Options{SSHUser: "admin", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(script, "<<'SHIPYARD_HOST_KEYS'\n")
	printer, _, ok2 := strings.Cut(rest, "\nSHIPYARD_HOST_KEYS\n")
	if !ok || !ok2 {
		t.Fatal("the user data has no SHIPYARD_HOST_KEYS heredoc")
	}
	etc := t.TempDir()
	if err := os.WriteFile(filepath.Join(etc, "ssh_host_ed25519_key.pub"), []byte(keys.HostPublic+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "shipyard-host-keys")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(printer, "/etc/ssh/", etc+"/")), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", file).CombinedOutput()
	if err != nil {
		t.Fatalf("shipyard-host-keys: %v\n%s", err, out)
	}
	image, _ := testHostKeys(t)
	got, err := ParseConsoleHostKeys(console("\r\n", bootLog, prefixed(syslogPrefix, printed(image.ed, image.rsa)), strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")))
	if err != nil {
		t.Fatalf("%v\nprinted:\n%s", err, out)
	}
	want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(keys.HostPublic))
	if err != nil {
		t.Fatal(err)
	}
	if !sameKeys(got.Keys, []ssh.PublicKey{want}) || !got.Checked {
		t.Errorf("keys %s (checked %v), want the builder's %s, checked; printed:\n%s", fingerprints(got.Keys), got.Checked, ssh.FingerprintSHA256(want), out)
	}
	for _, line := range []string{"ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----", "ec2: -----END SSH HOST KEY FINGERPRINTS-----",
		"\n-----BEGIN SSH HOST KEY KEYS-----\n", "\n-----END SSH HOST KEY KEYS-----\n"} {
		if !strings.Contains(string(out), line) {
			t.Errorf("printed no %q line as cloud-init does:\n%s", strings.TrimSpace(line), out)
		}
	}
}
