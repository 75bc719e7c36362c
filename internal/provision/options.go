package provision

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"shipyard/internal/enginever"
	"shipyard/internal/imageref"
)

// Fixed facts of the builder the script provisions.
const (
	// EngineSocket is where the engine listens (the SOCKET of ssh://USER@HOST:PORT/SOCKET).
	EngineSocket = "/run/dagger/engine.sock"
	// ReadyFile exists once the engine listens; wait for it over SSH (`test -e`).
	ReadyFile = "/run/shipyard-builder-ready"
	// EngineGroup owns the engine's socket; a non-root SSH user is added to it.
	EngineGroup = "dagger"
	// EngineURLEnv, when set in the script's environment, replaces Options.EngineURL.
	EngineURLEnv = "SHIPYARD_BUILDER_ENGINE_URL"
	// EngineSHA256Env is the checksum used with EngineURLEnv (no check when empty).
	EngineSHA256Env = "SHIPYARD_BUILDER_ENGINE_SHA256"
	// NoEngineImage as Options.EngineImage: the engine is already on the machine's image.
	NoEngineImage = "none"
	// EngineRoot is where the script keeps the engine image's root file system (rootfs/), its
	// environment (image.env) and the manifest digest it was pulled at (digest).
	EngineRoot = "/var/lib/shipyard/engine"
	// MaxUserData is EC2's limit on user data before base64 encoding.
	MaxUserData = 16 * 1024
	// DefaultIdleShutdown is how long the builder waits without an SSH session before it powers
	// itself off (Options.IdleShutdown 0).
	DefaultIdleShutdown = 20 * time.Minute
)

// Entitlements the engine config may allow (buildkitd's insecure-entitlements).
var knownEntitlements = []string{"network.host", "security.insecure"}

// Options say what UserData provisions.
type Options struct {
	// SSHUser is the login user the client key is authorised for: the image's user (admin on
	// Debian, ubuntu on Ubuntu) or root.
	SSHUser string
	// Keys are the builder's keys; UserData uses HostPrivate, HostPublic and ClientPublic and
	// never writes ClientPrivate.
	Keys Keys
	// EngineImage is the engine image whose root file system the builder runs the engine from:
	// "HOST/REPO:TAG", "HOST/REPO@sha256:…" or both; empty means Dagger's published image of the
	// pinned engine (enginever.Image). It is pulled from the mirrors Registries give its host
	// first, then from the host itself.
	// NoEngineImage: the engine is already on the machine's image. Ignored with EngineURL.
	EngineImage string
	// EngineURL is the engine bundle (see the package documentation) or the bare dagger-engine
	// binary, over https, http (only with EngineSHA256) or file, for machines that cannot reach
	// a registry with the engine image. Empty: the engine image (EngineImage).
	EngineURL string
	// EngineSHA256 is the download's sha256 in hex; empty skips the check (not allowed for http).
	EngineSHA256 string
	// Registries configure the engine's registry mirrors and plain-HTTP/insecure registries.
	Registries []Registry
	// InsecureEntitlements the engine grants: "network.host", "security.insecure".
	InsecureEntitlements []string
	// Env is extra environment for the engine (proxies, DAGGER_GO_SDK_MANIFEST_DIGEST, …). Values
	// may not contain quotes, backslashes, '$', '`' or line breaks.
	Env map[string]string
	// NetworkCIDR is the engine's container network (default 10.87.0.0/16); set another one when
	// the VPC uses that range.
	NetworkCIDR string
	// IdleShutdown powers the builder off once no SSH session has been open for this long, so
	// a builder whose pipeline was interrupted (Ctrl-C, a killed runner) does not wait for its
	// expiry tag: a launched instance terminates (its shutdown behaviour), an existing one
	// stops. Every pipeline holds an SSH session while it builds there. 0 means
	// DefaultIdleShutdown; a negative value never powers off (a builder kept running). At least
	// a minute.
	IdleShutdown time.Duration
}

// Registry is one [registry."HOST"] section of the engine config.
type Registry struct {
	// Host is the registry as images name it: "HOST[:PORT]".
	Host string
	// Mirrors are tried before Host, in order ("HOST[:PORT][/PATH]").
	Mirrors []string
	// HTTP talks plain HTTP to Host.
	HTTP bool
	// Insecure accepts Host's TLS certificate without verification.
	Insecure bool
}

var (
	userRE    = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	hostRE    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)
	mirrorRE  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._/-]+)?$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	imageRE   = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?/[a-z0-9]+([._/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[0-9a-f]{64})$`)
	commentRE = regexp.MustCompile(`^[A-Za-z0-9@._+-]*$`)
)

// checked is Options after validation, in the form the script template uses.
type checked struct {
	Options
	HostPublicLine   string // "ssh-ed25519 AAAA…"
	ClientPublicLine string // the authorized_keys line, re-rendered
	HostPrivatePEM   string // ends with a newline
	EngineConfig     string
	EnvFile          string
	ImageSources     string // "URL …": where the engine image is pulled from, mirrors first
	IdleSeconds      int    // 0: no idle power-off
}

// Validate reports every problem of o at once (errors.Join), each naming the option.
func (o Options) Validate() error {
	_, err := o.check()
	return err
}

func (o Options) check() (checked, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	c := checked{Options: o}

	switch {
	case o.SSHUser == "":
		bad("SSHUser is empty: set the image's login user (admin on Debian, ubuntu on Ubuntu) or root")
	case !userRE.MatchString(o.SSHUser):
		bad("SSHUser %q is not a user name (lower-case letters, digits, '_' and '-', at most 32)", o.SSHUser)
	}

	hostPub, err := checkHostKeys(o.Keys)
	if err != nil {
		errs = append(errs, err)
	} else {
		c.HostPublicLine = authorizedLine(hostPub)
		c.HostPrivatePEM = strings.TrimSpace(o.Keys.HostPrivate) + "\n"
	}
	if line, err := checkClientKey(o.Keys.ClientPublic); err != nil {
		errs = append(errs, err)
	} else {
		c.ClientPublicLine = line
		if hostPub != nil && strings.HasPrefix(line, c.HostPublicLine) {
			bad("Keys.ClientPublic is the host key: the client needs a key pair of its own")
		}
	}

	c.EngineSHA256 = strings.ToLower(o.EngineSHA256)
	if o.EngineSHA256 != "" && !sha256RE.MatchString(c.EngineSHA256) {
		bad("EngineSHA256 %q is not a sha256 in hex (64 digits)", o.EngineSHA256)
	}
	if o.EngineURL == "" {
		if o.EngineSHA256 != "" {
			bad("EngineSHA256 is set but EngineURL is empty: set the URL it checks or drop it")
		}
	} else if err := checkEngineURL(o.EngineURL, o.EngineSHA256 != ""); err != nil {
		errs = append(errs, err)
	}
	switch {
	case o.EngineURL != "":
		c.EngineImage = ""
	case o.EngineImage == "":
		c.EngineImage = enginever.Image
	case o.EngineImage == NoEngineImage:
		c.EngineImage = ""
	case !imageRE.MatchString(o.EngineImage):
		bad("EngineImage %q is not HOST/REPOSITORY:TAG or HOST/REPOSITORY[:TAG]@sha256:DIGEST (e.g. %s), nor %q", o.EngineImage, enginever.Image, NoEngineImage)
	default:
		if _, err := engineHost(o.EngineImage); err != nil {
			bad("EngineImage: %v", err)
		}
	}
	if c.EngineImage != "" {
		if host, err := engineHost(c.EngineImage); err == nil {
			c.ImageSources = imageSources(host, o.Registries)
		}
	}

	if cfg, err := engineConfig(o.Registries, o.InsecureEntitlements); err != nil {
		errs = append(errs, err)
	} else {
		c.EngineConfig = cfg
	}
	if env, err := EnvFile(o.Env); err != nil {
		errs = append(errs, err)
	} else {
		c.EnvFile = env
	}
	if o.NetworkCIDR != "" {
		if err := checkCIDR(o.NetworkCIDR); err != nil {
			errs = append(errs, err)
		}
	}
	switch {
	case o.IdleShutdown == 0:
		c.IdleSeconds = int(DefaultIdleShutdown / time.Second)
	case o.IdleShutdown < 0:
	case o.IdleShutdown < time.Minute:
		bad("IdleShutdown %s is under a minute: a builder must outlive the gaps between a pipeline's SSH sessions (or make it negative to never power off)", o.IdleShutdown)
	default:
		c.IdleSeconds = int(o.IdleShutdown / time.Second)
	}
	if len(errs) > 0 {
		return checked{}, fmt.Errorf("builder provisioning options have %d problem(s):\n%w", len(errs), errors.Join(errs...))
	}
	return c, nil
}

// checkHostKeys checks that HostPrivate is an unencrypted ed25519 key whose public half is HostPublic.
func checkHostKeys(k Keys) (ssh.PublicKey, error) {
	if strings.TrimSpace(k.HostPrivate) == "" {
		return nil, errors.New("Keys.HostPrivate is empty: generate the keys with NewJobKeys")
	}
	signer, err := ssh.ParsePrivateKey([]byte(k.HostPrivate))
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, errors.New("Keys.HostPrivate is protected by a passphrase: sshd needs it unencrypted")
	case err != nil:
		return nil, fmt.Errorf("Keys.HostPrivate is not an OpenSSH private key: %v", err)
	case signer.PublicKey().Type() != ssh.KeyAlgoED25519:
		return nil, fmt.Errorf("Keys.HostPrivate is a %s key: the builder's host key must be ed25519", signer.PublicKey().Type())
	}
	pub, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(k.HostPublic))
	if err != nil {
		return nil, fmt.Errorf("Keys.HostPublic is not an SSH public key line (\"ssh-ed25519 AAAA…\"): %v", err)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("Keys.HostPublic holds more than one line: give the one key to pin")
	}
	if !bytes.Equal(pub.Marshal(), signer.PublicKey().Marshal()) {
		return nil, fmt.Errorf("Keys.HostPublic (%s) is not the public half of Keys.HostPrivate (%s)",
			ssh.FingerprintSHA256(pub), ssh.FingerprintSHA256(signer.PublicKey()))
	}
	return pub, nil
}

// checkClientKey parses the client's authorized_keys line and renders it again.
func checkClientKey(line string) (string, error) {
	if strings.TrimSpace(line) == "" {
		return "", errors.New("Keys.ClientPublic is empty: generate the keys with NewJobKeys")
	}
	pub, comment, opts, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	switch {
	case err != nil:
		return "", fmt.Errorf("Keys.ClientPublic is not an SSH public key line (\"ssh-ed25519 AAAA… comment\"): %v", err)
	case len(bytes.TrimSpace(rest)) > 0:
		return "", errors.New("Keys.ClientPublic holds more than one line: give one key")
	case len(opts) > 0:
		return "", fmt.Errorf("Keys.ClientPublic has authorized_keys options (%s): give the bare key", strings.Join(opts, ","))
	case !commentRE.MatchString(comment):
		return "", fmt.Errorf("Keys.ClientPublic's comment %q may only hold letters, digits and @._+-", comment)
	}
	out := authorizedLine(pub)
	if comment != "" {
		out += " " + comment
	}
	return out, nil
}

func checkCIDR(cidr string) error {
	ip, n, err := net.ParseCIDR(cidr)
	if err != nil || ip.To4() == nil {
		return fmt.Errorf("NetworkCIDR %q is not an IPv4 network like 10.88.0.0/16", cidr)
	}
	if !ip.Equal(n.IP) {
		return fmt.Errorf("NetworkCIDR %q is not a network address: use %s", cidr, n)
	}
	if ones, _ := n.Mask.Size(); ones > 24 {
		return fmt.Errorf("NetworkCIDR %q is too small for the engine's containers: use a /24 or larger", cidr)
	}
	return nil
}

func checkEngineURL(raw string, haveSum bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("EngineURL %q is not a URL: %v", raw, err)
	}
	if strings.ContainsAny(raw, " \t\r\n'\"\\`$") {
		return fmt.Errorf("EngineURL %q contains spaces, quotes, '$' or backslashes: percent-encode them", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !haveSum {
			return fmt.Errorf("EngineURL %q is plain http: set EngineSHA256 so the download is verified, or use https", raw)
		}
	case "file":
		if u.Path == "" || u.Host != "" {
			return fmt.Errorf("EngineURL %q: a file URL is file:///ABSOLUTE/PATH", raw)
		}
		return nil
	default:
		return fmt.Errorf("EngineURL %q: the scheme must be https, http or file", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("EngineURL %q has no host", raw)
	}
	return nil
}

// engineConfig renders the engine's buildkitd TOML.
func engineConfig(regs []Registry, ents []string) (string, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var b strings.Builder
	b.WriteString("# Dagger engine " + enginever.Version + " configuration (buildkitd TOML), rendered by shipyard internal/provision\n")
	seenEnt := map[string]bool{}
	for _, e := range ents {
		switch {
		case !slices.Contains(knownEntitlements, e):
			bad("InsecureEntitlements: %q is not one of %s", e, strings.Join(knownEntitlements, ", "))
		case seenEnt[e]:
			bad("InsecureEntitlements: %q is listed twice", e)
		}
		seenEnt[e] = true
	}
	if len(ents) > 0 {
		fmt.Fprintf(&b, "insecure-entitlements = [%s]\n", quoteList(ents))
	}
	seenHost := map[string]bool{}
	for i, r := range regs {
		switch {
		case r.Host == "":
			bad("Registries[%d]: Host is empty", i)
			continue
		case !hostRE.MatchString(r.Host):
			bad("Registries[%d]: Host %q is not HOST[:PORT]", i, r.Host)
			continue
		case seenHost[r.Host]:
			bad("Registries[%d]: %q is configured twice: merge the entries", i, r.Host)
			continue
		case len(r.Mirrors) == 0 && !r.HTTP && !r.Insecure:
			bad("Registries[%d]: %q sets nothing: give Mirrors, HTTP or Insecure", i, r.Host)
			continue
		}
		seenHost[r.Host] = true
		for _, m := range r.Mirrors {
			if !mirrorRE.MatchString(m) {
				bad("Registries[%d]: mirror %q of %s is not HOST[:PORT][/PATH]", i, m, r.Host)
			}
		}
		fmt.Fprintf(&b, "\n[registry.%q]\n", r.Host)
		if len(r.Mirrors) > 0 {
			fmt.Fprintf(&b, "  mirrors = [%s]\n", quoteList(r.Mirrors))
		}
		if r.HTTP {
			b.WriteString("  http = true\n")
		}
		if r.Insecure {
			b.WriteString("  insecure = true\n")
		}
	}
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	return b.String(), nil
}

// engineHost is the registry host of the engine image. pull.py fetches from the image's first
// path segment, so that segment must be the host docker reads too (it has a "." or a port, or
// is localhost), not a Docker Hub path.
func engineHost(image string) (string, error) {
	r, err := imageref.Parse(image)
	if err == nil && r.Host == "" {
		err = fmt.Errorf("%q names no registry host (a host has a \".\" or a port, or is localhost): write HOST/REPOSITORY:TAG", image)
	}
	return r.Host, err
}

// imageSources are the base URLs the engine image is pulled from host, as the engine itself
// would: the mirrors the host has in regs, in order, then the host. Each is http:// when regs
// say that host speaks plain HTTP, else https://; a mirror's /PATH is kept.
func imageSources(host string, regs []Registry) string {
	scheme := func(h string) string {
		h, _, _ = strings.Cut(h, "/")
		for _, r := range regs {
			if r.Host == h && r.HTTP {
				return "http://"
			}
		}
		return "https://"
	}
	var urls []string
	for _, r := range regs {
		if r.Host == host {
			for _, m := range r.Mirrors {
				urls = append(urls, scheme(m)+m)
			}
		}
	}
	return strings.Join(append(urls, scheme(host)+host), " ")
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// EnvFile renders env as NAME='value' lines, sorted by name, which both sh (set -a; . FILE) and
// systemd (EnvironmentFile=) read: the format of Options.Env in the script and of a bundle's
// engine.env. Values may not contain quotes, backslashes, '$', '`' or line breaks.
func EnvFile(env map[string]string) (string, error) {
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	var errs []error
	var b strings.Builder
	for _, k := range names {
		v := env[k]
		switch {
		case !envNameRE.MatchString(k):
			errs = append(errs, fmt.Errorf("Env: %q is not a variable name (letters, digits, '_')", k))
		case strings.ContainsAny(v, "'\"\\$`\r\n\x00"):
			errs = append(errs, fmt.Errorf("Env: the value of %s contains a quote, backslash, '$', '`' or line break", k))
		default:
			fmt.Fprintf(&b, "%s='%s'\n", k, v)
		}
	}
	if len(errs) > 0 {
		return "", errors.Join(errs...)
	}
	return b.String(), nil
}
