package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/imageref"
	"shipyard/internal/regaccess"
	"shipyard/internal/registry"
)

// registryCreds is the user and password secret of the repositories under Address (a registry
// host or an image prefix); Shipyard.creds makes them.
type registryCreds = regaccess.Credential[*dagger.Secret]

// registryClient builds a registry client with each registry's credentials. Registries on the
// engine host's loopback (a local registry) are reached through tunnels: Go code running in a
// function cannot see the host's 127.0.0.1, so `--registry-tunnel tcp://localhost:PORT` hands it in.
//
// Only the loopback is spoken to over plain HTTP by default; any other registry must be named by
// the user (--insecure-registry), never guessed from its address: the client's guard refuses
// a plain-HTTP request to any other host before it is sent. A repository takes the credentials
// of the longest address that covers it.
func registryClient(ctx context.Context, creds []registryCreds, tunnels []*dagger.Service, insecure []string) (*registry.Client, error) {
	opts := []registry.Option{registry.WithInsecure(append([]string{"127.0.0.1", "localhost"}, insecure...)...)}
	for _, c := range creds {
		pw, err := c.Secret.Plaintext(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the password secret for %s: %v", c.Address, err)
		}
		opts = append(opts, registry.WithAuth(c.Address, registry.Auth{Username: c.User, Password: pw}))
	}
	if len(tunnels) > 0 {
		dial, err := tunnelDialer(ctx, tunnels)
		if err != nil {
			return nil, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = dial
		opts = append(opts, registry.WithTransport(tr))
	}
	return registry.New(opts...), nil
}

// tunnelDialer sends connections for 127.0.0.1:PORT and localhost:PORT (regaccess.TunnelHosts) to
// the tunnel of that port.
func tunnelDialer(ctx context.Context, tunnels []*dagger.Service) (func(context.Context, string, string) (net.Conn, error), error) {
	routes := map[string]string{}
	for _, svc := range tunnels {
		if _, err := svc.Start(ctx); err != nil {
			return nil, fmt.Errorf("starting the registry tunnel: %v", err)
		}
		ports, err := tunnelPorts(ctx, svc)
		if err != nil {
			return nil, err
		}
		for _, n := range ports {
			ep, err := svc.Endpoint(ctx, dagger.ServiceEndpointOpts{Port: n})
			if err != nil {
				return nil, fmt.Errorf("reading the registry tunnel's endpoint: %v", err)
			}
			for _, host := range regaccess.TunnelHosts() {
				routes[host+":"+strconv.Itoa(n)] = ep
			}
		}
	}
	d := &net.Dialer{Timeout: 15 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := routes[addr]; ok {
			addr = to
		}
		return d.DialContext(ctx, network, addr)
	}, nil
}

// tunnelPorts are the engine host's loopback ports a registry tunnel forwards.
func tunnelPorts(ctx context.Context, svc *dagger.Service) ([]int, error) {
	ports, err := svc.Ports(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the registry tunnel's ports: %v", err)
	}
	out := make([]int, 0, len(ports))
	for _, p := range ports {
		n, err := p.Port(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// credsFor is the index of the credentials of the longest address that covers ref, -1 when none does.
func credsFor(creds []registryCreds, ref string) int {
	addresses := make([]string, len(creds))
	for i, c := range creds {
		addresses[i] = c.Address
	}
	return regaccess.Match(addresses, ref)
}

// withAuth adds to a container about to publish ref the credentials of the longest address that
// covers ref, and only those: the engine keeps one credential per host, so a second one for
// another repository of the same host would replace it.
func withAuth(ctr *dagger.Container, creds []registryCreds, ref string) *dagger.Container {
	i := credsFor(creds, ref)
	r, err := imageref.Parse(ref)
	if i < 0 || err != nil {
		return ctr // a reference that does not parse fails its push, which names the reference
	}
	return ctr.WithRegistryAuth(r.Registry(), creds[i].User, creds[i].Secret)
}
