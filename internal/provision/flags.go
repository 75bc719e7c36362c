package provision

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ParseRegistries turns the command-line forms into Options.Registries, one entry per host in the
// order hosts first appear: mirrors are "HOST=MIRROR[,MIRROR]" (pull HOST's images through the
// mirrors), plainHTTP are "HOST[:PORT]" spoken to over plain HTTP without TLS checks.
func ParseRegistries(mirrors, plainHTTP []string) ([]Registry, error) {
	var regs []Registry
	at := map[string]int{}
	entry := func(host string) *Registry {
		if i, ok := at[host]; ok {
			return &regs[i]
		}
		at[host] = len(regs)
		regs = append(regs, Registry{Host: host})
		return &regs[len(regs)-1]
	}
	var errs []error
	for _, m := range mirrors {
		host, ms, ok := strings.Cut(m, "=")
		if !ok || host == "" || ms == "" {
			errs = append(errs, fmt.Errorf("mirror %q: want HOST=MIRROR[,MIRROR]", m))
			continue
		}
		r := entry(host)
		r.Mirrors = append(r.Mirrors, strings.Split(ms, ",")...)
	}
	for _, h := range plainHTTP {
		r := entry(h)
		r.HTTP, r.Insecure = true, true
	}
	return regs, errors.Join(errs...)
}

// ParseEnv turns NAME=VALUE items into Options.Env (nil when there are none).
func ParseEnv(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	env := map[string]string{}
	var errs []error
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("env %q: want NAME=VALUE", kv))
			continue
		}
		env[k] = v
	}
	return env, errors.Join(errs...)
}

// GivenKeys are the keys of a builder whose owner keeps them (strategy existing): the host's
// private key, whose public half is derived here, and the client's public key. ClientPrivate
// stays empty: the script never needs it.
func GivenKeys(hostPrivate, clientPublic string) (Keys, error) {
	signer, err := ssh.ParsePrivateKey([]byte(hostPrivate))
	if err != nil {
		return Keys{}, fmt.Errorf("the host key is not an unencrypted OpenSSH private key: %v", err)
	}
	return Keys{HostPrivate: hostPrivate, HostPublic: authorizedLine(signer.PublicKey()), ClientPublic: strings.TrimSpace(clientPublic)}, nil
}
