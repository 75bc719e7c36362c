//go:build full

package reliability

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"shipyard/internal/attest"
)

const (
	// canary is in every secret the test hands the CLI; it must show up nowhere.
	canary       = "s3cr3t-canary-XYZ"
	secretUser   = "u"
	goodPassword = canary + "-password"
	wrongPasswd  = canary + "-wrong"
	gitlabToken  = canary + "-token"
	signingPass  = canary + "-signing"
)

// signingKey is a cosign-format private key encrypted with signingPass (made once per run).
var signingKey = func() []byte {
	s, err := attest.GenerateSigner()
	if err != nil {
		panic(err)
	}
	pem, err := s.EncryptedPEM([]byte(signingPass))
	if err != nil {
		panic(err)
	}
	return pem
}()

// leakForms are the shapes a leaked secret could take: as is, and base64 in a basic auth header.
func leakForms() map[string][]byte {
	forms := map[string][]byte{"canary": []byte(canary)}
	for _, pw := range []string{goodPassword, wrongPasswd, gitlabToken, signingPass} {
		forms["base64("+pw+")"] = []byte(base64.StdEncoding.EncodeToString([]byte(pw)))
		forms["basic auth with "+pw] = []byte(base64.StdEncoding.EncodeToString([]byte(secretUser + ":" + pw)))
	}
	for i, line := range strings.Split(string(signingKey), "\n") {
		if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
			forms[fmt.Sprintf("line %d of the signing key", i+1)] = []byte(line)
		}
	}
	return forms
}

// leaks names the leak forms found in b.
func leaks(b []byte) []string {
	var found []string
	for form, needle := range leakForms() {
		if bytes.Contains(b, needle) {
			found = append(found, form)
		}
	}
	return found
}

// htpasswd writes an htpasswd file for user with a bcrypt hash of password.
func htpasswd(t *testing.T, user, password string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Secrets handed to the CLI (registry passwords, the GitLab token) appear in no output, no error
// and no byte of what was pushed: a real push and merge to a registry that requires them, a
// release dry run reading it, and a merge refused for a wrong password. Credentials are given
// once, with with-registry-auth and with-gitlab, as the GitLab jobs give them.
func TestSecretsNeverLeak(t *testing.T) {
	needEngine(t)
	port := freeRegistryPort(t, 5002)
	host := startRegistry(t, port, htpasswd(t, secretUser, goodPassword))
	auth := remoteOpts(secretUser, goodPassword)
	tunnel := fmt.Sprintf("--registry-tunnel=tcp://localhost:%d", port)
	gitlab := fmt.Sprintf("http://127.0.0.1:%d", closedPort(t))
	env := []string{"SHIPYARD_TEST_SECRET=" + goodPassword, "SHIPYARD_TEST_WRONG=" + wrongPasswd, "SHIPYARD_TEST_TOKEN=" + gitlabToken,
		"SHIPYARD_TEST_SIGNING_KEY=" + string(signingKey), "SHIPYARD_TEST_SIGNING_PASSWORD=" + signingPass}
	signing := func(password string) []string {
		return []string{"with-signing", "--key=env:SHIPYARD_TEST_SIGNING_KEY", "--password=env:" + password}
	}
	seedMerged(t, host+"/x", "1.2.3", auth...)
	withAuth := func(secret string) []string {
		return []string{"with-registry-auth", "--address=" + host, "--username=" + secretUser, "--secret=env:" + secret}
	}
	// the build registry of the staging pipeline below: its images are tagged t (--set TAG=t wins)
	staging := []string{"--build-registry=" + host + "/x", "--set=TAG=t", tunnel}

	calls := []struct {
		name string
		args []string
		ok   bool
		want string // in the output (or error) of the call, to prove it did its work
	}{
		{
			name: "publish with a password",
			args: append(append([]string{"--set=REGISTRY=" + host + "/x", "--set=TAG=t"}, withAuth("SHIPYARD_TEST_SECRET")...),
				"build", "--target=traefik", "--platform=linux/amd64", "publish"),
			ok:   true,
			want: host + "/x/traefik:t-amd64",
		},
		{
			// the manifests stage of a staging pipeline merges every image of the default group:
			// traefik's pushed above, the others seeded (see below)
			name: "merge with a password",
			args: append(append(append([]string{}, staging...), withAuth("SHIPYARD_TEST_SECRET")...),
				"release", "--ref=staging", "--only=manifests"),
			ok:   true,
			want: host + "/x/traefik:t@sha256:",
		},
		{
			// the build and the release registry get their credentials each, as in a GitLab job
			name: "release dry run with passwords and a GitLab token",
			args: append(append(append([]string{"--build-registry=" + host + "/x", "--release-registry=" + host + "/rel", tunnel},
				withAuth("SHIPYARD_TEST_SECRET")...), withAuth("SHIPYARD_TEST_SECRET")...),
				"with-gitlab", "--server-url="+gitlab, "--project-id=1", "--job-token=env:SHIPYARD_TEST_TOKEN",
				"release", "--ref=1.2.3", "--tag=1.2.3", "--only=release", "--dry-run"),
			ok:   true,
			want: "tag type [gitlab]: unreachable",
		},
		{
			name: "merge with a wrong password",
			args: append(append(append([]string{}, staging...), withAuth("SHIPYARD_TEST_WRONG")...),
				"release", "--ref=staging", "--only=manifests"),
			want: "registry rejected the credentials",
		},
		{
			// the indexes are signed: the signatures are read back with everything else below
			name: "merge and sign with a signing key",
			args: append(append(append(append([]string{}, staging...), withAuth("SHIPYARD_TEST_SECRET")...), signing("SHIPYARD_TEST_SIGNING_PASSWORD")...),
				"release", "--ref=staging", "--only=manifests"),
			ok:   true,
			want: "signed traefik " + host + "/x/traefik@sha256:",
		},
		{
			name: "sign with a wrong key password",
			args: append(append(append(append([]string{}, staging...), withAuth("SHIPYARD_TEST_SECRET")...), signing("SHIPYARD_TEST_WRONG")...),
				"release", "--ref=staging", "--only=manifests"),
			want: "preflight: the signing key (with-signing --key)",
		},
	}
	for i, c := range calls {
		if i == 1 {
			// the per-platform images of the default group's other targets, as their build would
			// leave them, so the merge has every source without building django here
			seedPlatformImages(t, host+"/x", "t", []string{"postgres", "watchtower", "django"}, auth...)
		}
		r := daggerCall(t, 20*time.Minute, env, c.args...)
		switch {
		case c.ok && r.Err != nil:
			t.Fatalf("%s: the call failed: %v\n%s", c.name, r.Err, tail(r.Stderr, 40))
		case !c.ok && r.Err == nil:
			t.Errorf("%s: the call succeeded; it must fail\n%s", c.name, r.Stdout)
		}
		if r.Err != nil {
			t.Logf("%s: %s", c.name, strings.TrimSpace(errorMessage(r.Stderr)))
		}
		if !strings.Contains(r.All(), c.want) {
			t.Errorf("%s: the output does not show %q:\n%s\n%s", c.name, c.want, r.Stdout, tail(r.Stderr, 30))
		}
		if found := leaks([]byte(r.Stdout)); len(found) > 0 {
			t.Errorf("%s: stdout leaks %v", c.name, found)
		}
		if found := leaks([]byte(r.Stderr)); len(found) > 0 {
			t.Errorf("%s: stderr (progress and error) leaks %v", c.name, found)
		}
	}

	// Everything now in the registry: manifests, configs and uncompressed layers.
	reg := &pushedReader{t: t, opts: auth, seen: map[string]bool{}}
	refs := snapshot(t, host, "", auth...)
	for _, ref := range refs {
		reg.read(host + "/" + ref)
	}
	for _, must := range []string{"x/traefik:t-amd64", "x/traefik:t"} {
		if !contains(refs, must) {
			t.Errorf("the registry has no %s; pushed: %v", must, refs)
		}
	}
	if !slices.ContainsFunc(refs, func(r string) bool { return strings.HasPrefix(r, "x/traefik:sha256-") && strings.HasSuffix(r, ".sig") }) {
		t.Errorf("the registry has no signature of x/traefik's index; pushed: %v", refs)
	}
	if reg.layers == 0 || reg.configs == 0 {
		t.Errorf("read %d configs and %d layers from %v; expected the pushed traefik image's", reg.configs, reg.layers, refs)
	}
	t.Logf("read %d manifests, %d configs, %d layers (%d bytes uncompressed) from %d tags", reg.manifests, reg.configs, reg.layers, reg.bytes, len(refs))
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// pushedReader reads images back from a registry and fails the test on any leaked secret.
type pushedReader struct {
	t                          *testing.T
	opts                       []remote.Option
	seen                       map[string]bool
	manifests, configs, layers int
	bytes                      int64
}

// check reports whether b is clean, failing the test if not.
func (p *pushedReader) check(what string, b []byte) bool {
	if found := leaks(b); len(found) > 0 {
		p.t.Errorf("%s leaks %v", what, found)
		return false
	}
	return true
}

// read checks the manifest at ref and, through it, every child manifest, config and layer.
func (p *pushedReader) read(ref string) {
	t := p.t
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r, p.opts...)
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	if p.seen[desc.Digest.String()] {
		return
	}
	p.seen[desc.Digest.String()] = true
	p.manifests++
	p.check("manifest "+ref, desc.Manifest)
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			t.Fatalf("reading index %s: %v", ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range im.Manifests {
			p.read(r.Context().Digest(m.Digest.String()).String())
		}
		return
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatalf("reading image %s: %v", ref, err)
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatalf("reading the config of %s: %v", ref, err)
	}
	p.configs++
	p.check("config of "+ref, cfg)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		p.readLayer(ref, l)
	}
}

// readLayer greps a layer's uncompressed bytes, carrying the overlap between chunks.
func (p *pushedReader) readLayer(ref string, l v1.Layer) {
	d, err := l.Digest()
	if err != nil {
		p.t.Fatal(err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		p.t.Fatalf("reading layer %s of %s: %v", d, ref, err)
	}
	defer rc.Close()
	p.layers++
	const overlap = 128
	buf := make([]byte, 0, 1<<20+overlap)
	chunk := make([]byte, 1<<20)
	for {
		n, err := rc.Read(chunk)
		buf = append(buf, chunk[:n]...)
		p.bytes += int64(n)
		if !p.check(fmt.Sprintf("layer %s of %s", d, ref), buf) {
			return
		}
		if len(buf) > overlap {
			buf = append(buf[:0], buf[len(buf)-overlap:]...)
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			p.t.Fatalf("reading layer %s of %s: %v", d, ref, err)
		}
	}
}
