//go:build full

package reliability

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/attest"
	"shipyard/internal/e2c"
	"shipyard/internal/provision"
	"shipyard/internal/testenv"
)

const (
	// canary is in every secret the test hands the CLI; it must show up nowhere.
	canary       = "s3cr3t-canary-XYZ"
	secretUser   = "u"
	goodPassword = canary + "-password"
	wrongPasswd  = canary + "-wrong"
	gitlabToken  = canary + "-token"
	signingPass  = canary + "-signing"
	// the AWS credentials of with-arm-access (moto takes any) and the job's OIDC ID token of
	// with-aws-web-identity, shaped as GitLab's (a JWT; moto's STS takes it as it is)
	awsKeyID     = canary + "-aws-key-id"
	awsSecretKey = canary + "-aws-secret-key"
	awsSession   = canary + "-aws-session-token"
	oidcToken    = "eyJhbGciOiJSUzI1NiJ9." + canary + "-oidc.c2lnbmF0dXJl"
)

// verbose makes the CLI print the engine's calls, internal and encapsulated ones too, with their
// arguments as its progress shows them.
const verbose = "-vvv"

// secretEnv are the secrets the calls read with env:NAME, as NAME=VALUE.
func secretEnv() []string {
	return []string{"SHIPYARD_TEST_SECRET=" + goodPassword, "SHIPYARD_TEST_WRONG=" + wrongPasswd, "SHIPYARD_TEST_TOKEN=" + gitlabToken,
		"SHIPYARD_TEST_SIGNING_KEY=" + string(signingKey), "SHIPYARD_TEST_SIGNING_PASSWORD=" + signingPass,
		"SHIPYARD_TEST_AWS_KEY_ID=" + awsKeyID, "SHIPYARD_TEST_AWS_SECRET=" + awsSecretKey, "SHIPYARD_TEST_AWS_SESSION=" + awsSession,
		"SHIPYARD_TEST_OIDC_TOKEN=" + oidcToken, "SHIPYARD_TEST_HOST_KEY=" + builderKeys.HostPrivate}
}

// awsAccess gives EC2 the canary credentials, a session token among them.
var awsAccess = []string{"with-arm-access", "--aws-access-key-id=env:SHIPYARD_TEST_AWS_KEY_ID",
	"--aws-secret-access-key=env:SHIPYARD_TEST_AWS_SECRET", "--aws-session-token=env:SHIPYARD_TEST_AWS_SESSION"}

// webIdentity assumes roleARN with the canary ID token at sts (moto's STS).
func webIdentity(roleARN, sts string) []string {
	return []string{"with-aws-web-identity", "--role-arn=" + roleARN, "--web-identity-token=env:SHIPYARD_TEST_OIDC_TOKEN", "--sts-endpoint=" + sts}
}

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

// builderKeys are the SSH keys of a builder whose owner keeps them: provision-script gets the host's
// private key (made once per run).
var builderKeys = func() provision.Keys {
	k, err := provision.NewJobKeys()
	if err != nil {
		panic(err)
	}
	return k
}()

// leakForms are the shapes a leaked secret could take: as is, base64, and base64 in a basic auth
// header; the private keys' lines.
func leakForms() map[string][]byte {
	forms := map[string][]byte{"canary": []byte(canary)}
	for _, pw := range []string{goodPassword, wrongPasswd, gitlabToken, signingPass} {
		forms["base64("+pw+")"] = []byte(base64.StdEncoding.EncodeToString([]byte(pw)))
		forms["basic auth with "+pw] = []byte(base64.StdEncoding.EncodeToString([]byte(secretUser + ":" + pw)))
	}
	for _, s := range []string{awsKeyID, awsSecretKey, awsSession, oidcToken} {
		forms["base64("+s+")"] = []byte(base64.StdEncoding.EncodeToString([]byte(s)))
	}
	for i, line := range strings.Split(string(signingKey), "\n") {
		if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
			forms[fmt.Sprintf("line %d of the signing key", i+1)] = []byte(line)
		}
	}
	maps.Copy(forms, keyForms("the builder's host key", builderKeys.HostPrivate))
	return forms
}

// keyForms are the shapes a leaked OpenSSH private key could take: each line of its body but the
// first (the same in every unencrypted ed25519 key), and the key base64-encoded as the state file
// keeps E2C_SSH_PRIVATE_KEY, whole and in pieces past the constant header.
func keyForms(what, key string) map[string][]byte {
	forms := map[string][]byte{}
	for i, line := range strings.Split(key, "\n") {
		if i >= 2 && len(line) >= 32 && !strings.HasPrefix(line, "-----") {
			forms[fmt.Sprintf("line %d of %s", i+1, what)] = []byte(line)
		}
	}
	enc := base64.StdEncoding.EncodeToString([]byte(key))
	forms["base64 of "+what] = []byte(enc)
	for at := 192; at+64 <= len(enc); at += 64 {
		forms[fmt.Sprintf("base64 of %s, characters %d-%d", what, at, at+64)] = []byte(enc[at : at+64])
	}
	return forms
}

// leaks names the forms found in b.
func leaks(b []byte, forms map[string][]byte) []string {
	var found []string
	for form, needle := range forms {
		if bytes.Contains(b, needle) {
			found = append(found, form)
		}
	}
	slices.Sort(found)
	return found
}

// checkRecords fails the test when the engine's call records of a CLI run (what it exported over
// OTLP: records) hold a leak form, as they are or decoded, and when they do not name field, an API
// field the run called, in a call decoded from dagger.io/dag.call (so a silent exporter or a
// decoder that finds nothing cannot pass).
func checkRecords(t *testing.T, what string, records []byte, forms map[string][]byte, field string) {
	t.Helper()
	decoded := testenv.Decoded(records)
	switch {
	case len(records) == 0:
		t.Errorf("%s: the CLI exported no call records (OTEL_EXPORTER_OTLP_*)", what)
	case !bytes.Contains(records, []byte("dagger.io/dag.call")):
		t.Errorf("%s: the exported records hold no call (dagger.io/dag.call)", what)
	case !bytes.Contains(decoded, []byte(field)):
		t.Errorf("%s: no call decoded from the records names %s", what, field)
	}
	if found := leaks(records, forms); len(found) > 0 {
		t.Errorf("%s: the engine's call records leak %v", what, found)
	}
	if found := leaks(decoded, forms); len(found) > 0 {
		t.Errorf("%s: the engine's call records leak, decoded, %v", what, found)
	}
}

// checkEngineFiles fails the test when a file in which the engine keeps what it ran since since
// (testenv.EngineFiles) holds a leak form, as it is or decoded; an engine that is not hack/engine's
// keeps them elsewhere, and then only its exported records are checked (checkRecords).
func checkEngineFiles(t *testing.T, since time.Time, forms map[string][]byte) {
	t.Helper()
	read, err := testenv.ReadEngineFiles(since, 10)
	if err != nil {
		if errors.Is(err, testenv.ErrNotOurEngine) {
			t.Logf("the engine's own files are not read: %v", err)
			return
		}
		t.Errorf("%v", err)
		return
	}
	files := make([]string, 0, len(read))
	for f, b := range read {
		files = append(files, f)
		if found := leaks(b, forms); len(found) > 0 {
			t.Errorf("the engine's %s leaks %v", f, found)
		}
		if found := leaks(testenv.Decoded(b), forms); len(found) > 0 {
			t.Errorf("the engine's %s leaks, decoded, %v", f, found)
		}
	}
	slices.Sort(files)
	t.Logf("read the engine's files %v", files)
}

// Secrets handed to the CLI (registry passwords, the GitLab token, the signing key and its
// password, the AWS credentials, the web identity token, a builder's host key) appear in no
// output, no error, no byte of what was pushed and none of the engine's call records: a real push
// and merge to a registry that requires them, a release dry run reading it, and a merge refused
// for a wrong password; EC2 (moto) asked with access keys and a session token, and with a role
// assumed with the token; a web identity refused before STS is asked; the provisioning script of
// a builder whose owner keeps its keys. Credentials are given once, with with-registry-auth,
// with-gitlab, with-arm-access and with-aws-web-identity, as the GitLab jobs give them; the AWS
// ones ride along the publish and the signing merge, so their images are read for them too.
func TestSecretsNeverLeak(t *testing.T) {
	needEngine(t)
	began := time.Now()
	port := freeRegistryPort(t, 5002)
	host := startRegistry(t, port, testenv.Htpasswd(t, secretUser, goodPassword))
	auth := remoteOpts(secretUser, goodPassword)
	tunnel := fmt.Sprintf("--registry-tunnel=tcp://localhost:%d", port)
	gitlab := fmt.Sprintf("http://127.0.0.1:%d", closedPort(t))
	tel := testenv.StartTelemetry(t)
	env := append(secretEnv(), tel.Env()...)
	forms := leakForms()
	signing := func(password string) []string {
		return []string{"with-signing", "--key=env:SHIPYARD_TEST_SIGNING_KEY", "--password=env:" + password}
	}
	seedMerged(t, host+"/x", "1.2.3", auth...)
	withAuth := func(secret string) []string {
		return []string{"with-registry-auth", "--address=" + host, "--username=" + secretUser, "--secret=env:" + secret}
	}
	// the build registry of the staging pipeline below: its images are tagged t (--set TAG=t wins)
	staging := []string{"--build-registry=" + host + "/x", "--set=TAG=t", tunnel}
	// EC2 is moto, reached through a tunnel to the engine host's loopback, STS too
	motoURL := testenv.StartMoto(t)
	moto, err := url.Parse(motoURL)
	if err != nil {
		t.Fatal(err)
	}
	ec2 := []string{"--project=secrets", "--arm64", "--arm-builder=ec2", "with-arm-instance",
		"--launch-template-id=" + testenv.ArmLaunchTemplate(t, testenv.MotoEC2(motoURL)),
		"--endpoint=" + motoURL, "--tunnel=tcp://localhost:" + moto.Port()}
	const role = "arn:aws:iam::123456789012:role/shipyard-arm-builder"
	script := filepath.Join(t.TempDir(), "builder.sh")

	calls := []struct {
		name string
		args []string
		ok   bool
		want string // in the output (or error) of the call, to prove it did its work
		// field is an API field the call calls, which its records must name (checkRecords)
		field string
		// check, if set, checks what the call left
		check func(t *testing.T)
	}{
		{
			name: "publish with a password",
			args: append(append(append([]string{"--set=REGISTRY=" + host + "/x", "--set=TAG=t"}, withAuth("SHIPYARD_TEST_SECRET")...), awsAccess...),
				"build", "--target=traefik", "--platform=linux/amd64", "publish"),
			ok:    true,
			want:  host + "/x/traefik:t-amd64",
			field: "withRegistryAuth",
		},
		{
			// the manifests stage of a staging pipeline merges every image of the default group:
			// traefik's pushed above, the others seeded (see below)
			name: "merge with a password",
			args: append(append(append([]string{}, staging...), withAuth("SHIPYARD_TEST_SECRET")...),
				"release", "--ref=staging", "--only=manifests"),
			ok:    true,
			want:  host + "/x/traefik:t@sha256:",
			field: "withRegistryAuth",
		},
		{
			// the build and the release registry get their credentials each, as in a GitLab job
			name: "release dry run with passwords and a GitLab token",
			args: append(append(append([]string{"--build-registry=" + host + "/x", "--release-registry=" + host + "/rel", tunnel},
				withAuth("SHIPYARD_TEST_SECRET")...), withAuth("SHIPYARD_TEST_SECRET")...),
				"with-gitlab", "--server-url="+gitlab, "--project-id=1", "--job-token=env:SHIPYARD_TEST_TOKEN",
				"release", "--ref=1.2.3", "--tag=1.2.3", "--only=release", "--dry-run"),
			ok:    true,
			want:  "tag type [gitlab]: unreachable",
			field: "withGitlab",
		},
		{
			name: "merge with a wrong password",
			args: append(append(append([]string{}, staging...), withAuth("SHIPYARD_TEST_WRONG")...),
				"release", "--ref=staging", "--only=manifests"),
			want:  "registry rejected the credentials",
			field: "withRegistryAuth",
		},
		{
			// the indexes are signed: the signatures are read back with everything else below
			name: "merge and sign with a signing key",
			args: append(append(append(append(append([]string{}, staging...), withAuth("SHIPYARD_TEST_SECRET")...), signing("SHIPYARD_TEST_SIGNING_PASSWORD")...),
				webIdentity(role, motoURL)...), "release", "--ref=staging", "--only=manifests"),
			ok:    true,
			want:  "signed traefik " + host + "/x/traefik@sha256:",
			field: "withSigning",
		},
		{
			name: "sign with a wrong key password",
			args: append(append(append(append([]string{}, staging...), withAuth("SHIPYARD_TEST_SECRET")...), signing("SHIPYARD_TEST_WRONG")...),
				"release", "--ref=staging", "--only=manifests"),
			want:  "preflight: the signing key (with-signing --key)",
			field: "withSigning",
		},
		{
			name:  "EC2 with access keys and a session token",
			args:  append(append(append([]string{}, ec2...), awsAccess...), "arm-builder", "--ref=staging", "reap"),
			ok:    true,
			want:  "e2c reap: ",
			field: "withArmAccess",
		},
		{
			name:  "EC2 with a role assumed with the web identity token",
			args:  append(append(append([]string{}, ec2...), webIdentity(role, motoURL)...), "arm-builder", "--ref=staging", "reap"),
			ok:    true,
			want:  "assumed role " + role,
			field: "withAwsWebIdentity",
		},
		{
			// read, then refused before STS is asked: a role of another partition than the region's
			name: "a web identity refused",
			args: append(append(append([]string{}, ec2...), webIdentity("arn:aws-cn:iam::123456789012:role/shipyard-arm-builder", motoURL)...),
				"arm-builder", "--ref=staging", "reap"),
			want:  "is in partition aws-cn",
			field: "withAwsWebIdentity",
		},
		{
			// the script holds the host key it installs; nothing else does
			name: "provision-script with a host key its owner keeps",
			args: []string{"arm-builder", "provision-script", "--ssh-host-private-key=env:SHIPYARD_TEST_HOST_KEY",
				"--ssh-client-public-key=" + builderKeys.ClientPublic, "--ssh-user=root", "export", "--path=" + script},
			ok:    true,
			want:  script,
			field: "provisionScript",
			check: func(t *testing.T) {
				b, err := os.ReadFile(script)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(b), strings.TrimSpace(builderKeys.HostPrivate)+"\nSHIPYARD_HOST_KEY\n") {
					t.Errorf("the script does not install the host key it was given:\n%s", testenv.Tail(strings.ReplaceAll(string(b), strings.TrimSpace(builderKeys.HostPrivate), "[the host key]"), 20))
				}
				if st, err := os.Stat(script); err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("the script (it holds the host key) is %v (%v), want mode 0600", st.Mode(), err)
				}
			},
		},
	}
	for i, c := range calls {
		if i == 1 {
			// the per-platform images of the default group's other targets, as their build would
			// leave them, so the merge has every source without building django here
			seedPlatformImages(t, host+"/x", "t", []string{"postgres", "watchtower", "django"}, auth...)
		}
		r := daggerCall(t, 20*time.Minute, env, append([]string{verbose}, c.args...)...)
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
		if found := leaks([]byte(r.Stdout), forms); len(found) > 0 {
			t.Errorf("%s: stdout leaks %v", c.name, found)
		}
		if found := leaks([]byte(r.Stderr), forms); len(found) > 0 {
			t.Errorf("%s: stderr (progress and error) leaks %v", c.name, found)
		}
		checkRecords(t, c.name, tel.Take(), forms, c.field)
		if c.check != nil {
			c.check(t)
		}
	}

	// Everything now in the registry: manifests, configs and uncompressed layers.
	reg := &pushedReader{t: t, opts: auth, forms: forms, seen: map[string]bool{}}
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
	checkEngineFiles(t, began, forms)
}

// helloBake is a user's bake file of one small image for amd64 and arm64: its arm64 image is the
// Debian base and one file, built on the builder without a step to emulate.
const helloBake = `variable "REGISTRY" { default = "127.0.0.1:5000/shipyard" }
variable "TAG" { default = "dev" }
group "default" { targets = ["hello"] }
target "hello" {
  context   = "hello"
  tags      = ["${REGISTRY}/hello:${TAG}"]
  platforms = ["linux/amd64", "linux/arm64"]
}
`

// phaseRun is one CLI run of TestJobKeysNeverLeak and the call records it exported.
type phaseRun struct {
	verb    string
	r       result
	records []byte
}

// GitLab's phases of a release's ARM build on a builder the module provisions itself (template
// strategy, no SSH key given), with the AWS credentials and a session token: setup makes the
// job's keys, launches the builder on moto with the user data that installs them, and returns
// the state file that holds the client key; build logs in with it and builds the arm64 image
// there; teardown terminates the builder. The job's keys (the client's, read back from the state
// file, and the host's, from the user data moto recorded) and the AWS credentials appear in no
// output, no error, no layer the builder pushed and none of the engine's call records; the state
// file, mode 0600, is what holds the client key. The harness plays the cloud as in test/ec2
// (testenv.ServeLaunched): it boots each launched instance on a test host of hack/remote-engine
// from its user data.
func TestJobKeysNeverLeak(t *testing.T) {
	needEngine(t)
	testenv.RemoteEngineEnv(t, repoRoot) // slot 0 up: its relay of the host registry (10.99.0.1) serves the builder
	began := time.Now()
	motoURL := testenv.StartMoto(t)
	moto, err := url.Parse(motoURL)
	if err != nil {
		t.Fatal(err)
	}
	client := testenv.MotoEC2(motoURL)
	template := testenv.ArmLaunchTemplate(t, client)
	// the image's own sshd first, held until the product has met it (as in test/ec2)
	fleet := testenv.ServeLaunched(t, client, 120)
	tel := testenv.StartTelemetry(t)
	env := append(secretEnv(), tel.Env()...)

	src := t.TempDir()
	for path, text := range map[string]string{
		"hello.hcl":        helloBake,
		"hello/Dockerfile": "FROM debian:bookworm-slim\nCOPY hello.txt /hello.txt\n",
		"hello/hello.txt":  "hello from the ARM builder\n",
	} {
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, path), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mirror := testenv.Mirror()
	_, port, err := net.SplitHostPort(mirror)
	if err != nil {
		t.Fatal(err)
	}
	relay := "10.99.0.1:" + port // the host registry as the builder reaches it
	prefix := fmt.Sprintf("secrets-%d", time.Now().Unix())
	mirrors, err := testenv.EngineMirrors(relay)
	if err != nil {
		t.Fatal(err)
	}
	dcli, err := exec.LookPath("dagger")
	if err != nil {
		t.Fatal(err)
	}
	const job = "91"
	config := append([]string{"--source", src, "--bake-file", "hello.hcl", "--git-dir", testenv.TagRepo(t, []string{"1.0.0"}, nil),
		"--project", "secrets", "--build-registry", relay + "/" + prefix, "--release-registry", mirror + "/" + prefix + "/rel",
		"--insecure-registry", relay, "--arm64", "--arm-builder", "ec2", "with-gitlab", "--job-id", job,
		"with-arm-instance", "--launch-template-id", template, "--endpoint", motoURL, "--tunnel", "tcp://localhost:" + moto.Port()},
		awsAccess...)
	// what a user passes; on the test host SHIPYARD_BUILDER_ENGINE_URL installs the local build instead
	config = append(config, "--dagger-cli", dcli, "with-arm-provisioning",
		"--engine-url", "https://artifacts.example.com/dagger-engine-v0.19.10-linux-arm64.tar.gz", "--engine-sha-256", strings.Repeat("0", 64))
	for _, m := range mirrors {
		config = append(config, "--mirror", m)
	}
	stateDir := t.TempDir()
	stateFile := filepath.Join(stateDir, e2c.StateFileName(job))

	var runs []phaseRun
	// check fails the test for a leak form in a run's output or call records (field: its verb)
	check := func(p phaseRun, forms map[string][]byte) {
		t.Helper()
		if found := leaks([]byte(p.r.Stdout), forms); len(found) > 0 {
			t.Errorf("arm-builder %s: stdout leaks %v", p.verb, found)
		}
		if found := leaks([]byte(p.r.Stderr), forms); len(found) > 0 {
			t.Errorf("arm-builder %s: stderr (progress and error) leaks %v", p.verb, found)
		}
		checkRecords(t, "arm-builder "+p.verb, p.records, forms, p.verb)
	}
	phase := func(verb string, timeout time.Duration, args ...string) result {
		t.Helper()
		call := append(append(append([]string{verbose}, config...), "arm-builder", "--ref", "1.0.0", "--tag", "1.0.0"), args...)
		r := daggerCall(t, timeout, env, call...)
		runs = append(runs, phaseRun{verb: verb, r: r, records: tel.Take()})
		if r.Err != nil {
			// with the forms known before the keys: the failure's own output is checked too
			check(runs[len(runs)-1], leakForms())
			t.Fatalf("arm-builder %s: %v\n%s\n%s", verb, r.Err, tail(r.Stdout, 20), tail(r.Stderr, 60))
		}
		return r
	}

	r := phase("setup", 15*time.Minute, "setup", "export", "--path", stateFile)
	if want := "e2c: provisioning the builder with keys made for job " + job; !strings.Contains(r.All(), want) {
		t.Errorf("the setup log lacks %q:\n%s", want, tail(r.Stderr, 40))
	}
	st, err := e2c.ReadState(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.InstanceID == "" || st.SSHPrivateKey == "" || st.SSHHostKey == "" {
		t.Fatalf("the state file names instance %q, holds a client key: %v, a host key: %q; want the builder setup provisioned with the job's keys",
			st.InstanceID, st.SSHPrivateKey != "", st.SSHHostKey)
	}
	if fi, err := os.Stat(stateFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the state file (it holds the job's client key) is %v (%v), want mode 0600", fi.Mode(), err)
	}
	userData, err := testenv.InstanceUserData(context.Background(), client, st.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	_, hostKey, _ := strings.Cut(userData, "<<'SHIPYARD_HOST_KEY'\n")
	hostKey, _, found := strings.Cut(hostKey, "\nSHIPYARD_HOST_KEY\n")
	if !found || !strings.Contains(hostKey, "PRIVATE KEY-----") {
		t.Fatalf("the user data moto recorded for %s installs no host key", st.InstanceID)
	}
	forms := leakForms()
	maps.Copy(forms, keyForms("the job's client key", st.SSHPrivateKey))
	maps.Copy(forms, keyForms("the job's host key", hostKey+"\n"))

	r = phase("build", 30*time.Minute, "--state-dir", stateDir, "build")
	if want := "on EC2 builder " + st.InstanceID; !strings.Contains(r.All(), want) {
		t.Errorf("the build log lacks %q:\n%s", want, tail(r.Stderr, 60))
	}
	r = phase("teardown", 10*time.Minute, "--state-dir", stateDir, "teardown")
	if want := "terminating instance " + st.InstanceID; !strings.Contains(r.All(), want) {
		t.Errorf("the teardown log lacks %q:\n%s", want, tail(r.Stderr, 40))
	}
	if err := fleet.WaitOff(2 * time.Minute); err != nil {
		t.Error(err)
	}
	for _, p := range runs {
		check(p, forms)
	}

	// what the builder pushed: manifests, configs and uncompressed layers
	opts := remoteOpts("", "")
	reg := &pushedReader{t: t, opts: opts, forms: forms, seen: map[string]bool{}}
	refs := snapshot(t, mirror, prefix+"/", opts...)
	if !contains(refs, prefix+"/hello:1.0.0-arm64") {
		t.Errorf("the builder pushed no %s/hello:1.0.0-arm64; pushed: %v", prefix, refs)
	}
	for _, ref := range refs {
		reg.read(mirror + "/" + ref)
	}
	t.Logf("read %d manifests, %d configs, %d layers (%d bytes uncompressed) from %v", reg.manifests, reg.configs, reg.layers, reg.bytes, refs)
	checkEngineFiles(t, began, forms)
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
	t    *testing.T
	opts []remote.Option
	// forms are what no byte may hold (leakForms)
	forms                      map[string][]byte
	seen                       map[string]bool
	manifests, configs, layers int
	bytes                      int64
}

// check reports whether b is clean, failing the test if not.
func (p *pushedReader) check(what string, b []byte) bool {
	if found := leaks(b, p.forms); len(found) > 0 {
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
