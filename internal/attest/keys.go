package attest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// PEM block types of the keys cosign writes and reads.
const (
	PEMEncryptedSigstore = "ENCRYPTED SIGSTORE PRIVATE KEY" // `cosign generate-key-pair` today
	PEMEncryptedCosign   = "ENCRYPTED COSIGN PRIVATE KEY"   // older cosign releases
	PEMPrivateKey        = "PRIVATE KEY"                    // unencrypted PKCS #8
	PEMECPrivateKey      = "EC PRIVATE KEY"                 // unencrypted SEC 1
	PEMPublicKey         = "PUBLIC KEY"                     // PKIX
)

// Sentinel errors of key handling; messages never include key bytes or passwords.
var (
	ErrBadKey        = errors.New("invalid signing key")
	ErrWrongPassword = errors.New("wrong password for the signing key")
	ErrBadDigest     = errors.New("invalid digest")
)

// The key-derivation and cipher of an encrypted cosign key: scrypt derives a
// 32-byte nacl/secretbox key from the password and a random salt; the box
// holds the PKCS #8 DER of the private key.
const (
	kdfScrypt       = "scrypt"
	cipherSecretbox = "nacl/secretbox"
	boxKeySize      = 32
	boxNonceSize    = 24
	saltSize        = 32
)

// scryptParams are the scrypt costs; only the sets cosign's library writes
// are accepted, so a crafted key file cannot make parsing arbitrarily slow.
type scryptParams struct {
	N int `json:"N"`
	R int `json:"r"`
	P int `json:"p"`
}

// The accepted scrypt costs: 2^15 (older cosign), 2^16 (current), 2^17.
var acceptedScrypt = []scryptParams{{1 << 15, 8, 1}, {1 << 16, 8, 1}, {1 << 17, 8, 1}}

// encryptedKey is the JSON inside an encrypted cosign key's PEM block.
type encryptedKey struct {
	KDF struct {
		Name   string       `json:"name"`
		Params scryptParams `json:"params"`
		Salt   []byte       `json:"salt"`
	} `json:"kdf"`
	Cipher struct {
		Name  string `json:"name"`
		Nonce []byte `json:"nonce"`
	} `json:"cipher"`
	Ciphertext []byte `json:"ciphertext"`
}

// box derives the secretbox key from password and the salt, and returns it
// with the nonce (whose size the caller has checked).
func (e *encryptedKey) box(password []byte) (*[boxKeySize]byte, *[boxNonceSize]byte, error) {
	derived, err := scrypt.Key(password, e.KDF.Salt, e.KDF.Params.N, e.KDF.Params.R, e.KDF.Params.P, boxKeySize)
	if err != nil {
		return nil, nil, err
	}
	var k [boxKeySize]byte
	var n [boxNonceSize]byte
	copy(k[:], derived)
	copy(n[:], e.Cipher.Nonce)
	return &k, &n, nil
}

// Signer signs with an ECDSA P-256 key, SHA-256, ASN.1 signatures: cosign's default.
type Signer struct{ key *ecdsa.PrivateKey }

// NewSigner wraps an ECDSA P-256 private key.
func NewSigner(key *ecdsa.PrivateKey) (*Signer, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: the key is not ECDSA P-256 (cosign's default); generate one with `cosign generate-key-pair`", ErrBadKey)
	}
	return &Signer{key: key}, nil
}

// GenerateSigner returns a signer with a fresh key (tests, throwaway keys).
func GenerateSigner() (*Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating a P-256 key: %w", err)
	}
	return &Signer{key: k}, nil
}

// Sign returns the ASN.1 ECDSA signature of SHA-256(message).
func (s *Signer) Sign(message []byte) ([]byte, error) {
	h := sha256.Sum256(message)
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, h[:])
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return sig, nil
}

// Public returns the verifying key.
func (s *Signer) Public() *ecdsa.PublicKey { return &s.key.PublicKey }

// String hides the key so that printing a Signer cannot leak it.
func (s *Signer) String() string { return "attest.Signer{ECDSA P-256, private key hidden}" }

// GoString hides the key from %#v as well.
func (s *Signer) GoString() string { return s.String() }

// Verify reports whether sig is a valid ASN.1 ECDSA signature of SHA-256(message) by pub.
func Verify(pub *ecdsa.PublicKey, message, sig []byte) bool {
	if pub == nil {
		return false
	}
	h := sha256.Sum256(message)
	return ecdsa.VerifyASN1(pub, h[:], sig)
}

// ParseSigner reads a private key PEM as cosign writes it (ENCRYPTED SIGSTORE
// / ENCRYPTED COSIGN PRIVATE KEY, decrypted with password) or an unencrypted
// PKCS #8 "PRIVATE KEY" or SEC 1 "EC PRIVATE KEY" (password ignored).
func ParseSigner(pemBytes, password []byte) (*Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found: pass the content of cosign.key (-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----…), not a path or a base64 of it", ErrBadKey)
	}
	var der []byte
	switch block.Type {
	case PEMEncryptedSigstore, PEMEncryptedCosign:
		var err error
		if der, err = decrypt(block.Bytes, password); err != nil {
			return nil, err
		}
	case PEMPrivateKey, PEMECPrivateKey:
		der = block.Bytes
	case PEMPublicKey:
		return nil, fmt.Errorf("%w: this is a public key (cosign.pub); signing needs the private key (cosign.key)", ErrBadKey)
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a private key cosign writes: expected %q, %q or %q", ErrBadKey, block.Type, PEMEncryptedSigstore, PEMPrivateKey, PEMECPrivateKey)
	}
	key, err := parsePrivateDER(block.Type, der)
	if err != nil {
		return nil, err
	}
	return NewSigner(key)
}

func parsePrivateDER(pemType string, der []byte) (*ecdsa.PrivateKey, error) {
	if pemType == PEMECPrivateKey {
		k, err := x509.ParseECPrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("%w: the EC PRIVATE KEY block is not a SEC 1 key", ErrBadKey)
		}
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: the key is not PKCS #8", ErrBadKey)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: the key is a %T, shipyard signs with ECDSA P-256 (cosign's default); generate one with `cosign generate-key-pair`", ErrBadKey, k)
	}
	return ec, nil
}

// decrypt opens an encrypted cosign key's JSON with password.
func decrypt(data, password []byte) ([]byte, error) {
	var e encryptedKey
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("%w: the encrypted key is not cosign's JSON (kdf, cipher, ciphertext); regenerate it with `cosign generate-key-pair`", ErrBadKey)
	}
	if e.KDF.Name != kdfScrypt || e.Cipher.Name != cipherSecretbox {
		return nil, fmt.Errorf("%w: the key is encrypted with %s/%s; only scrypt/nacl/secretbox (cosign's) is supported", ErrBadKey, e.KDF.Name, e.Cipher.Name)
	}
	accepted := false
	for _, p := range acceptedScrypt {
		accepted = accepted || p == e.KDF.Params
	}
	if !accepted {
		return nil, fmt.Errorf("%w: unsupported scrypt parameters N=%d r=%d p=%d (cosign writes N=2^15..2^17, r=8, p=1)", ErrBadKey, e.KDF.Params.N, e.KDF.Params.R, e.KDF.Params.P)
	}
	if len(e.Cipher.Nonce) != boxNonceSize {
		return nil, fmt.Errorf("%w: the secretbox nonce is %d bytes, want %d", ErrBadKey, len(e.Cipher.Nonce), boxNonceSize)
	}
	k, n, err := e.box(password)
	if err != nil {
		return nil, fmt.Errorf("%w: deriving the key from the password failed", ErrBadKey)
	}
	der, ok := secretbox.Open(nil, e.Ciphertext, n, k)
	if !ok {
		return nil, fmt.Errorf("%w: check the password secret (COSIGN_PASSWORD) belongs to this key", ErrWrongPassword)
	}
	return der, nil
}

// EncryptedPEM writes the signer's key as `cosign generate-key-pair` does:
// PKCS #8, sealed with nacl/secretbox under a scrypt (N=2^16, r=8, p=1)
// key derived from password, in an ENCRYPTED SIGSTORE PRIVATE KEY block.
func (s *Signer) EncryptedPEM(password []byte) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key: %w", err)
	}
	var e encryptedKey
	e.KDF.Name, e.KDF.Params = kdfScrypt, acceptedScrypt[1]
	e.Cipher.Name = cipherSecretbox
	e.KDF.Salt, e.Cipher.Nonce = make([]byte, saltSize), make([]byte, boxNonceSize)
	if _, err := io.ReadFull(rand.Reader, e.KDF.Salt); err != nil {
		return nil, fmt.Errorf("generating a salt: %w", err)
	}
	if _, err := io.ReadFull(rand.Reader, e.Cipher.Nonce); err != nil {
		return nil, fmt.Errorf("generating a nonce: %w", err)
	}
	k, n, err := e.box(password)
	if err != nil {
		return nil, fmt.Errorf("deriving the encryption key: %w", err)
	}
	e.Ciphertext = secretbox.Seal(nil, der, n, k)
	data, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding the encrypted key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMEncryptedSigstore, Bytes: data}), nil
}

// PublicPEM writes the verifying key as cosign.pub: a PKIX "PUBLIC KEY" block.
func (s *Signer) PublicPEM() ([]byte, error) { return MarshalPublicKey(s.Public()) }

// MarshalPublicKey writes pub as a PKIX "PUBLIC KEY" PEM block.
func MarshalPublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding the public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMPublicKey, Bytes: der}), nil
}

// ParsePublicKey reads an ECDSA P-256 public key PEM (cosign.pub).
func ParsePublicKey(pemBytes []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found in the public key: pass the content of cosign.pub (-----BEGIN PUBLIC KEY-----…)", ErrBadKey)
	}
	if block.Type != PEMPublicKey {
		return nil, fmt.Errorf("%w: PEM block %q is not a public key: pass cosign.pub, whose block is %q", ErrBadKey, block.Type, PEMPublicKey)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: the public key is not PKIX DER", ErrBadKey)
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: the public key is not ECDSA P-256 (cosign's default)", ErrBadKey)
	}
	return ec, nil
}
