// Package regaccess decides how the module may speak to a registry: which hosts are reached
// over plain HTTP (the loopback and the hosts named by --insecure-registry, never one guessed
// from its address), and which of the configured credentials serves a repository (the longest
// matching prefix, as Docker's auth config allows). Pure string and address rules, no I/O.
package regaccess

import (
	"net/netip"
	"slices"
	"strings"
)

// Flag is how the user names a registry that has no HTTPS.
const Flag = "--insecure-registry=HOST:PORT"

// PlainHTTP reports whether host ("name", "name:port", "[v6]:port", a bare IPv6 address) may be
// spoken to without TLS: a loopback address, localhost, or a host of insecure. An entry of
// insecure is "HOST" (any port) or "HOST:PORT" (that port only); "HOST:*" is the same as "HOST".
// A private address (10/8, 172.16/12, 192.168/16) is not enough: anyone on that network who
// blocks the HTTPS port would be handed the credentials in the clear.
func PlainHTTP(host string, insecure []string) bool {
	return Loopback(host) || Listed(host, insecure)
}

// Loopback reports whether host is localhost or a loopback address (127/8, ::1), with or without a port.
func Loopback(host string) bool {
	h, _ := SplitHostPort(host)
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// Listed reports whether host is named by one of the entries of insecure (see PlainHTTP).
func Listed(host string, insecure []string) bool {
	h, port := SplitHostPort(host)
	for _, e := range insecure {
		eh, eport := SplitHostPort(strings.TrimSpace(e))
		if eh == "" || !sameHost(eh, h) {
			continue
		}
		if eport == "" || eport == "*" || eport == port {
			return true
		}
	}
	return false
}

// SplitHostPort splits "name:port", "[v6]:port", "[v6]", "v6" and "name" into the host (without
// brackets) and the port ("" when absent).
func SplitHostPort(host string) (string, string) {
	if rest, ok := strings.CutPrefix(host, "["); ok {
		h, after, _ := strings.Cut(rest, "]")
		return h, strings.TrimPrefix(after, ":")
	}
	if strings.Count(host, ":") == 1 {
		h, port, _ := strings.Cut(host, ":")
		return h, port
	}
	return host, ""
}

// sameHost compares two hosts: names case-insensitively, addresses by value (::1 is 0:0:0:0:0:0:0:1).
func sameHost(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	x, errx := netip.ParseAddr(a)
	y, erry := netip.ParseAddr(b)
	return errx == nil && erry == nil && x.Unmap() == y.Unmap()
}

// Prefix normalises a credential's address: a registry host ("registry.gitlab.com") or an image
// prefix ("registry.gitlab.com/group/project"); a scheme, a trailing slash, a tag or a digest
// are dropped, the host is lower-cased and Docker Hub's names are the one go-containerregistry
// uses (index.docker.io).
func Prefix(address string) string {
	a := strings.TrimSpace(address)
	for _, scheme := range []string{"https://", "http://"} {
		if len(a) >= len(scheme) && strings.EqualFold(a[:len(scheme)], scheme) {
			a = a[len(scheme):]
		}
	}
	a = strings.TrimRight(a, "/")
	host, path, hasPath := strings.Cut(a, "/")
	host = strings.ToLower(host)
	switch host {
	case "docker.io", "registry-1.docker.io":
		host = "index.docker.io"
	}
	if !hasPath {
		return host
	}
	path, _, _ = strings.Cut(path, "@")
	if i := strings.LastIndex(path, ":"); i > strings.LastIndex(path, "/") {
		path = path[:i]
	}
	if path == "" {
		return host
	}
	return host + "/" + path
}

// Match returns the index in prefixes of the credential for repo ("host/path/name", as
// go-containerregistry names a repository), -1 if none: the longest prefix that is repo's host,
// or repo's host and leading path segments ("host/group" serves "host/group/app", not
// "host/groupie/app"). Of equal prefixes the last one given wins, as a later flag overrides an
// earlier one.
func Match(prefixes []string, repo string) int {
	r := Prefix(repo)
	best, bestLen := -1, -1
	for i, p := range prefixes {
		p = Prefix(p)
		if p == "" || !(r == p || strings.HasPrefix(r, p+"/")) {
			continue
		}
		if len(p) >= bestLen {
			best, bestLen = i, len(p)
		}
	}
	return best
}

// FromFunction reports whether code running in a module function reaches the registry at host
// (as an image reference names it). The engine's pushes reach the engine host's loopback, a
// function's code does not: it reaches 127.0.0.1:PORT and localhost:PORT only through a registry
// tunnel of that port (tunneled: the ports the tunnels forward, "5000"), and no other loopback
// address. Any other host it reaches as the engine does.
func FromFunction(host string, tunneled []string) bool {
	if !Loopback(host) {
		return true
	}
	h, port := SplitHostPort(host)
	return slices.Contains(TunnelHosts(), h) && port != "" && slices.Contains(tunneled, port)
}

// TunnelHosts are the loopback names a registry tunnel is reached by from a function
// (NAME:PORT): what the tunnel's dialer routes and FromFunction accepts.
func TunnelHosts() []string { return []string{"127.0.0.1", "localhost"} }
