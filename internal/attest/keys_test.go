package attest_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"shipyard/internal/attest"
)

const fixturePassword = "fixture-password"

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseSignerReadsCosignKeys reads keys written by the library cosign
// encrypts with (testdata/README.md) and by this package, and signs with
// each so that the fixture's public key verifies.
func TestParseSignerReadsCosignKeys(t *testing.T) {
	pub, err := attest.ParsePublicKey(readFile(t, "testdata/fixture.pub"))
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := attest.ParseSigner(readFile(t, "testdata/sigstore.key"), []byte(fixturePassword))
	if err != nil {
		t.Fatal(err)
	}
	mine, err := fixture.EncryptedPEM([]byte("other"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		pem      []byte
		password string
	}{
		{"sigstore PEM type, scrypt 2^16", readFile(t, "testdata/sigstore.key"), fixturePassword},
		{"legacy cosign PEM type, scrypt 2^15", readFile(t, "testdata/cosign-legacy.key"), fixturePassword},
		{"written by EncryptedPEM", mine, "other"},
		{"unencrypted PKCS #8", readFile(t, "testdata/plain.key"), ""},
		{"unencrypted SEC 1", readFile(t, "testdata/ec.key"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := attest.ParseSigner(tc.pem, []byte(tc.password))
			if err != nil {
				t.Fatal(err)
			}
			sig, err := s.Sign([]byte("payload"))
			if err != nil {
				t.Fatal(err)
			}
			if !attest.Verify(pub, []byte("payload"), sig) {
				t.Error("the signature does not verify with testdata/fixture.pub")
			}
			if attest.Verify(pub, []byte("other payload"), sig) {
				t.Error("the signature verifies another payload")
			}
		})
	}
}

// TestParseSignerErrors: every failure names the problem and what to do,
// and never includes the password or key material.
func TestParseSignerErrors(t *testing.T) {
	enc := readFile(t, "testdata/sigstore.key")
	block, _ := pem.Decode(enc)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edDER, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	tamperedJSON := strings.Replace(string(block.Bytes), `"N":65536`, `"N":1048576`, 1)
	for _, tc := range []struct {
		name     string
		pem      []byte
		password string
		is       error
		says     string
	}{
		{"wrong password", enc, "not-the-password", attest.ErrWrongPassword, "check the password secret"},
		{"no password", enc, "", attest.ErrWrongPassword, "check the password secret"},
		{"not PEM", []byte("cosign.key"), "", attest.ErrBadKey, "not a path or a base64"},
		{"public key", readFile(t, "testdata/fixture.pub"), "", attest.ErrBadKey, "signing needs the private key"},
		{"other PEM type", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), "", attest.ErrBadKey, `"CERTIFICATE" is not a private key`},
		{"ed25519 key", pem.EncodeToMemory(&pem.Block{Type: attest.PEMPrivateKey, Bytes: edDER}), "", attest.ErrBadKey, "ECDSA P-256"},
		{"garbage PKCS #8", pem.EncodeToMemory(&pem.Block{Type: attest.PEMPrivateKey, Bytes: []byte("xx")}), "", attest.ErrBadKey, "not PKCS #8"},
		{"encrypted body not JSON", pem.EncodeToMemory(&pem.Block{Type: attest.PEMEncryptedSigstore, Bytes: []byte("xx")}), "pw-123", attest.ErrBadKey, "regenerate it"},
		{"costly scrypt parameters", pem.EncodeToMemory(&pem.Block{Type: attest.PEMEncryptedSigstore, Bytes: []byte(tamperedJSON)}), fixturePassword, attest.ErrBadKey, "unsupported scrypt parameters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := attest.ParseSigner(tc.pem, []byte(tc.password))
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("ParseSigner = %v, want %v saying %q", err, tc.is, tc.says)
			}
			assertNoSecret(t, err.Error(), tc.password, tc.pem)
		})
	}
}

// assertNoSecret fails if msg holds the password or any line of the key's PEM body.
func assertNoSecret(t *testing.T, msg, password string, pemBytes []byte) {
	t.Helper()
	if password != "" && strings.Contains(msg, password) {
		t.Errorf("the error %q includes the password", msg)
	}
	for _, line := range strings.Split(string(pemBytes), "\n") {
		if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(msg, line) {
			t.Errorf("the error %q includes key material", msg)
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	s, err := attest.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := s.PublicPEM()
	if err != nil {
		t.Fatal(err)
	}
	got, err := attest.ParsePublicKey(pubPEM)
	if err != nil || !got.Equal(s.Public()) {
		t.Fatalf("ParsePublicKey(PublicPEM()) = %v, %v; want the signer's key", got, err)
	}
	for _, tc := range []struct {
		name, says string
		pem        []byte
	}{
		{"not PEM", "no PEM block", []byte("cosign.pub")},
		{"private key", "is not a public key", readFile(t, "testdata/plain.key")},
		{"garbage", "not PKIX", pem.EncodeToMemory(&pem.Block{Type: attest.PEMPublicKey, Bytes: []byte("xx")})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := attest.ParsePublicKey(tc.pem)
			if !errors.Is(err, attest.ErrBadKey) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("ParsePublicKey = %v, want ErrBadKey saying %q", err, tc.says)
			}
		})
	}
}

func TestSignerHidesKey(t *testing.T) {
	s, err := attest.ParseSigner(readFile(t, "testdata/plain.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var k *ecdsa.PrivateKey
	block, _ := pem.Decode(readFile(t, "testdata/plain.key"))
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	k = parsed.(*ecdsa.PrivateKey)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, s)
		if strings.Contains(out, k.D.String()) || strings.Contains(out, fmt.Sprintf("%x", k.D)) {
			t.Errorf("Printf(%s, signer) shows the private key", format)
		}
	}
}
