package provision

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Comments written into the generated keys, so that an authorized_keys line or a key file says
// what it is for.
const (
	HostKeyComment   = "shipyard-builder-host"
	ClientKeyComment = "shipyard-builder-client"
)

// Keys is the SSH key material of one builder: the host key sshd presents and the client key the
// module logs in with. Private keys are OpenSSH PEM blocks ("-----BEGIN OPENSSH PRIVATE KEY-----"),
// unencrypted; public keys are authorized_keys-style lines.
type Keys struct {
	// HostPrivate is sshd's host key (E2C_SSH_HOST_KEY pins its public half). It is part of the
	// user data, never of the module's output.
	HostPrivate string
	// HostPublic is "ssh-ed25519 AAAA…", the line to pin: the client verifies it on every connection.
	HostPublic string
	// ClientPrivate is the key the module logs in with (what E2C_SSH_PRIVATE_KEY holds for a
	// baked image). It is never written into the user data.
	ClientPrivate string
	// ClientPublic is "ssh-ed25519 AAAA… shipyard-builder-client", authorised for the SSH user.
	ClientPublic string
}

// NewJobKeys generates a fresh ed25519 host key pair and ed25519 client key pair for one job.
func NewJobKeys() (Keys, error) {
	return newKeys(rand.Reader)
}

func newKeys(r io.Reader) (Keys, error) {
	hostPriv, hostPub, err := newEd25519(r, HostKeyComment)
	if err != nil {
		return Keys{}, fmt.Errorf("generating the host key: %w", err)
	}
	clientPriv, clientPub, err := newEd25519(r, ClientKeyComment)
	if err != nil {
		return Keys{}, fmt.Errorf("generating the client key: %w", err)
	}
	return Keys{
		HostPrivate:   hostPriv,
		HostPublic:    hostPub,
		ClientPrivate: clientPriv,
		ClientPublic:  clientPub + " " + ClientKeyComment,
	}, nil
}

// newEd25519 returns an OpenSSH private key PEM and its public "ssh-ed25519 AAAA…" line.
func newEd25519(r io.Reader, comment string) (priv, pub string, err error) {
	pk, sk, err := ed25519.GenerateKey(r)
	if err != nil {
		return "", "", err
	}
	block, err := ssh.MarshalPrivateKey(sk, comment)
	if err != nil {
		return "", "", err
	}
	sshPub, err := ssh.NewPublicKey(pk)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(block)), authorizedLine(sshPub), nil
}

// authorizedLine is the key as one authorized_keys line without comment or newline.
func authorizedLine(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}
