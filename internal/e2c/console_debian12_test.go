package e2c

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"shipyard/internal/awsapi"
)

// TestConsoleHostKeysOfDebian12 reads what cloud-init really printed on the serial console of a
// Debian 12 arm64 VM (testdata/console-debian12-arm64.txt), returned the way GetConsoleOutput
// returns it (base64 in EC2's XML answer, through the product's client), and finds exactly the
// VM's host keys (testdata/console-debian12-arm64.hostkeys, its /etc/ssh/ssh_host_*_key.pub),
// checked against the printed fingerprints, with its ed25519 key to pin.
func TestConsoleHostKeysOfDebian12(t *testing.T) {
	out, err := os.ReadFile("testdata/console-debian12-arm64.txt")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/console-debian12-arm64.hostkeys")
	if err != nil {
		t.Fatal(err)
	}
	var want []ssh.PublicKey
	for rest := data; len(strings.TrimSpace(string(rest))) > 0; {
		k, _, _, r, err := ssh.ParseAuthorizedKey(rest)
		if err != nil {
			t.Fatalf("testdata/console-debian12-arm64.hostkeys: %v", err)
		}
		if k.Type() != ssh.InsecureKeyAlgoDSA {
			want = append(want, k)
		}
		rest = r
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("Action") != "GetConsoleOutput" || r.Form.Get("InstanceId") != "i-0debian12arm64" {
			http.Error(w, "unexpected request "+r.Form.Encode(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<GetConsoleOutputResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>1</requestId><instanceId>i-0debian12arm64</instanceId>
  <timestamp>2026-12-05T10:00:00.000Z</timestamp>
  <output>` + base64.StdEncoding.EncodeToString(out) + `</output>
</GetConsoleOutputResponse>`))
	}))
	defer srv.Close()
	c, err := awsapi.New("eu-north-1", srv.URL, awsapi.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	got, err := WaitConsoleHostKeys(context.Background(), c, "i-0debian12arm64", time.Minute, time.Millisecond, func(s string) { logs = append(logs, s) })
	t.Logf("%s", strings.Join(logs, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !sameKeysAnyOrder(got.Keys, want) || !got.Checked {
		t.Errorf("keys %s, checked %v; want the VM's %s, checked", fingerprints(got.Keys), got.Checked, fingerprints(want))
	}
	if p := got.Preferred(); p == nil || p.Type() != ssh.KeyAlgoED25519 {
		t.Errorf("Preferred = %s, want the VM's ed25519 key", fingerprints([]ssh.PublicKey{p}))
	}
}

// sameKeysAnyOrder tells whether got and want hold the same keys, in any order.
func sameKeysAnyOrder(got, want []ssh.PublicKey) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]int{}
	for _, k := range want {
		seen[string(k.Marshal())]++
	}
	for _, k := range got {
		if seen[string(k.Marshal())] == 0 {
			return false
		}
		seen[string(k.Marshal())]--
	}
	return true
}
