package provision

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestNewJobKeys(t *testing.T) {
	k, err := NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, priv, pub, comment string
	}{
		{"host", k.HostPrivate, k.HostPublic, ""},
		{"client", k.ClientPrivate, k.ClientPublic, ClientKeyComment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.HasPrefix(tc.priv, "-----BEGIN OPENSSH PRIVATE KEY-----\n") {
				t.Errorf("private key is not an OpenSSH PEM block:\n%s", tc.priv)
			}
			signer, err := ssh.ParsePrivateKey([]byte(tc.priv))
			if err != nil {
				t.Fatalf("ParsePrivateKey: %v", err)
			}
			raw, err := ssh.ParseRawPrivateKey([]byte(tc.priv))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := raw.(*ed25519.PrivateKey); !ok {
				t.Errorf("private key is %T, want ed25519", raw)
			}
			pub, comment, opts, rest, err := ssh.ParseAuthorizedKey([]byte(tc.pub))
			if err != nil {
				t.Fatalf("ParseAuthorizedKey(%q): %v", tc.pub, err)
			}
			if comment != tc.comment || len(opts) != 0 || len(rest) != 0 || strings.Contains(tc.pub, "\n") {
				t.Errorf("public line %q: comment %q, options %v, rest %q; want one line with comment %q", tc.pub, comment, opts, rest, tc.comment)
			}
			if !bytes.Equal(pub.Marshal(), signer.PublicKey().Marshal()) {
				t.Errorf("public line %q is not the private key's public half", tc.pub)
			}
		})
	}
	if k.HostPublic == strings.Fields(k.ClientPublic)[0]+" "+strings.Fields(k.ClientPublic)[1] {
		t.Error("host and client keys are the same")
	}
	again, err := NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	if again.HostPublic == k.HostPublic || again.ClientPublic == k.ClientPublic {
		t.Error("two calls returned the same key: keys must be new for every job")
	}
}

func TestNewJobKeysReportsRandomFailure(t *testing.T) {
	_, err := newKeys(bytes.NewReader(nil))
	if err == nil || !strings.Contains(err.Error(), "host key") || !errors.Is(err, io.EOF) {
		t.Errorf("newKeys with an empty random source: %v, want an error naming the host key and wrapping io.EOF", err)
	}
}
