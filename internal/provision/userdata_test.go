package provision

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"shipyard/internal/enginever"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testKeys are fixed keys (testdata/*_ed25519), so that the rendered script is stable.
func testKeys(t *testing.T) Keys {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	hostPub := strings.Fields(read("host_ed25519.pub"))
	return Keys{
		HostPrivate:   read("host_ed25519"),
		HostPublic:    hostPub[0] + " " + hostPub[1],
		ClientPrivate: read("client_ed25519"),
		ClientPublic:  strings.TrimSpace(read("client_ed25519.pub")),
	}
}

// fullOptions uses every option.
func fullOptions(t *testing.T) Options {
	return Options{
		SSHUser:      "admin",
		Keys:         testKeys(t),
		EngineURL:    "https://artifacts.example.com/dagger/engine-v0.19.10-linux-arm64.tar.gz",
		EngineSHA256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Registries: []Registry{
			{Host: "registry.example.com", Mirrors: []string{"mirror.internal:5000", "mirror2.internal/cache"}},
			{Host: "10.0.0.5:5000", HTTP: true, Insecure: true},
		},
		InsecureEntitlements: []string{"security.insecure", "network.host"},
		Env:                  map[string]string{"HTTPS_PROXY": "http://proxy.internal:3128", "NO_PROXY": "169.254.169.254,10.0.0.0/8"},
		NetworkCIDR:          "10.88.0.0/16",
		IdleShutdown:         45 * time.Minute,
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func TestUserDataGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(*Options)
	}{
		{"userdata-full.golden", func(*Options) {}},
		// root login, nothing else set: Dagger's published engine image
		{"userdata-minimal.golden", func(o *Options) {
			*o = Options{SSHUser: "root", Keys: o.Keys}
		}},
		// a baked image (the engine is on the machine's image)
		{"userdata-baked.golden", func(o *Options) {
			*o = Options{SSHUser: "root", Keys: o.Keys, EngineImage: NoEngineImage}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := fullOptions(t)
			tc.opts(&o)
			got, err := UserData(o)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, got)
		})
	}
}

// What the script must say for the builder to work, independent of its wording.
func TestUserDataContent(t *testing.T) {
	o := fullOptions(t)
	got, err := UserData(o)
	if err != nil {
		t.Fatal(err)
	}
	must := []string{
		"#!/bin/sh\n",
		"ENGINE_VERSION='" + enginever.Version + "'",
		"ENGINE_URL='" + o.EngineURL + "'",
		"ENGINE_SHA256='" + o.EngineSHA256 + "'",
		"SSH_USER='admin'",
		"CLIENT_KEY='" + o.Keys.ClientPublic + "'",
		"echo '" + o.Keys.HostPublic + "' >/etc/ssh/ssh_host_ed25519_key.pub",
		strings.TrimSpace(o.Keys.HostPrivate),
		"SOCK=" + EngineSocket,
		"READY=" + ReadyFile,
		"GROUP=" + EngineGroup,
		`"${` + EngineURLEnv + `:-}"`,
		"${" + EngineSHA256Env + ":-}",
		"dial-stdio) shift; exec /usr/bin/dial-stdio",
		`insecure-entitlements = ["security.insecure", "network.host"]`,
		"[registry.\"registry.example.com\"]\n  mirrors = [\"mirror.internal:5000\", \"mirror2.internal/cache\"]\n",
		"[registry.\"10.0.0.5:5000\"]\n  http = true\n  insecure = true\n",
		"HTTPS_PROXY='http://proxy.internal:3128'\nNO_PROXY='169.254.169.254,10.0.0.0/8'\n",
		"NETWORK_CIDR='10.88.0.0/16'",
		"IDLE_SECONDS=2700\n",
		"ss -Htnp state established",
		"    poweroff\n",
		"touch \"$READY\"",
	}
	for _, m := range must {
		if !strings.Contains(got, m) {
			t.Errorf("the script does not contain %q", m)
		}
	}
	if strings.Contains(got, "PermitRootLogin") {
		t.Error("root login is configured for a non-root SSH user")
	}
	launch, err := LaunchUserData(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(launch) > MaxUserData {
		t.Errorf("the launch user data is %d bytes, over EC2's %d", len(launch), MaxUserData)
	}
	zr, err := gzip.NewReader(bytes.NewReader(launch))
	if err != nil {
		t.Fatalf("the launch user data is not gzip, which cloud-init reads: %v", err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || string(plain) != got {
		t.Errorf("the launch user data does not decompress to the script (%v)", err)
	}
}

// The client's private key belongs to the module alone: it never travels in the user data.
func TestUserDataNeverHoldsTheClientKey(t *testing.T) {
	o := fullOptions(t)
	got, err := UserData(o)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(o.Keys.ClientPrivate))
	body := strings.Join(strings.Split(strings.TrimSpace(string(pem.EncodeToMemory(block))), "\n")[1:3], "\n")
	if strings.Contains(got, body) {
		t.Error("the user data contains the client's private key")
	}
	if strings.Count(got, "BEGIN OPENSSH PRIVATE KEY") != 1 {
		t.Error("the user data holds more than the one private key (the host's)")
	}
}

// The script by parts: the host's private key is its one secret part, so that the script
// provision-script returns never carries the key in a call's arguments.
func TestUserDataTextKeepsTheHostKeySecret(t *testing.T) {
	o := fullOptions(t)
	text, err := UserDataText(o)
	if err != nil {
		t.Fatal(err)
	}
	script, err := UserData(o)
	if err != nil {
		t.Fatal(err)
	}
	if text.String() != script {
		t.Error("the script by parts differs from UserData's")
	}
	if n := text.Secrets(); n != 1 {
		t.Fatalf("%d secret parts, want the host key alone", n)
	}
	for _, p := range text {
		if p.Secret && p.Text != strings.TrimSpace(o.Keys.HostPrivate)+"\n" {
			t.Errorf("the secret part is not the host key:\n%s", p.Text)
		}
	}
	plain := text.Redacted("")
	if strings.Contains(plain, "PRIVATE KEY-----\n") {
		t.Errorf("a plain part holds a private key")
	}
	for _, line := range strings.Split(o.Keys.HostPrivate, "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") && strings.Contains(plain, line) {
			t.Errorf("a plain part holds a line of the host key: %q", line)
		}
	}
	if !strings.Contains(plain, "<<'SHIPYARD_HOST_KEY'\nSHIPYARD_HOST_KEY\n") {
		t.Errorf("the plain parts are not the script around the host key")
	}
}

// Heredoc bodies cannot end early: no rendered value contains a line that closes one.
func TestUserDataHeredocsAreClosedOnce(t *testing.T) {
	got, err := UserData(fullOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"SHIPYARD_HOST_KEY", "SHIPYARD_HOST_KEYS", "SHIPYARD_HOST_KEYS_UNIT", "SHIPYARD_SSHD", "SHIPYARD_BUILDCTL", "SHIPYARD_ENGINE_TOML", "SHIPYARD_ENGINE_ENV", "SHIPYARD_UNIT"} {
		if n := strings.Count(got, "\n"+d+"\n"); n != 1 {
			t.Errorf("heredoc %s is closed %d times, want 1", d, n)
		}
	}
}

func TestUserDataValidation(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM, err := ssh.MarshalPrivateKey(ecKey, "")
	if err != nil {
		t.Fatal(err)
	}
	ecPub, err := ssh.NewPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	encPEM, err := ssh.MarshalPrivateKeyWithPassphrase(mustRawKey(t, testKeys(t).HostPrivate), "", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want []string // substrings of the error
	}{
		{"no user", func(o *Options) { o.SSHUser = "" }, []string{"SSHUser is empty"}},
		{"idle shutdown under a minute", func(o *Options) { o.IdleShutdown = 30 * time.Second }, []string{"IdleShutdown 30s is under a minute"}},
		{"bad user", func(o *Options) { o.SSHUser = "Admin; rm" }, []string{`SSHUser "Admin; rm" is not a user name`}},
		{"no host key", func(o *Options) { o.Keys.HostPrivate = "" }, []string{"Keys.HostPrivate is empty"}},
		{"garbage host key", func(o *Options) { o.Keys.HostPrivate = "not a key" }, []string{"Keys.HostPrivate is not an OpenSSH private key"}},
		{"encrypted host key", func(o *Options) { o.Keys.HostPrivate = string(pem.EncodeToMemory(encPEM)) }, []string{"protected by a passphrase"}},
		{"ecdsa host key", func(o *Options) {
			o.Keys.HostPrivate = string(pem.EncodeToMemory(ecPEM))
			o.Keys.HostPublic = authorizedLine(ecPub)
		}, []string{"is a ecdsa-sha2-nistp256 key: the builder's host key must be ed25519"}},
		{"host public of another key", func(o *Options) { o.Keys.HostPublic = other.HostPublic }, []string{"Keys.HostPublic (SHA256:", "is not the public half of Keys.HostPrivate"}},
		{"host public garbage", func(o *Options) { o.Keys.HostPublic = "ssh-ed25519" }, []string{"Keys.HostPublic is not an SSH public key line"}},
		{"host public two lines", func(o *Options) { o.Keys.HostPublic += "\n" + other.HostPublic }, []string{"Keys.HostPublic holds more than one line"}},
		{"no client key", func(o *Options) { o.Keys.ClientPublic = "" }, []string{"Keys.ClientPublic is empty"}},
		{"client key with options", func(o *Options) { o.Keys.ClientPublic = `command="true" ` + o.Keys.ClientPublic }, []string{"authorized_keys options (command=\"true\")"}},
		{"client key comment with a quote", func(o *Options) { o.Keys.ClientPublic += "'x" }, []string{"comment \"shipyard-builder-client'x\" may only hold"}},
		{"client key is the host key", func(o *Options) { o.Keys.ClientPublic = o.Keys.HostPublic }, []string{"Keys.ClientPublic is the host key"}},
		{"sum without url", func(o *Options) { o.EngineURL = "" }, []string{"EngineSHA256 is set but EngineURL is empty"}},
		{"bad sum", func(o *Options) { o.EngineSHA256 = "abc" }, []string{`EngineSHA256 "abc" is not a sha256`}},
		{"http without sum", func(o *Options) {
			o.EngineURL, o.EngineSHA256 = "http://artifacts.example.com/e.tar", ""
		}, []string{"is plain http: set EngineSHA256"}},
		{"ftp", func(o *Options) { o.EngineURL = "ftp://artifacts.example.com/e.tar" }, []string{"the scheme must be https, http or file"}},
		{"relative file", func(o *Options) { o.EngineURL = "file://engine.tar" }, []string{"a file URL is file:///ABSOLUTE/PATH"}},
		{"quote in url", func(o *Options) { o.EngineURL = "https://artifacts.example.com/it's.tar" }, []string{"contains spaces, quotes"}},
		{"no host", func(o *Options) { o.EngineURL = "https:///e.tar" }, []string{"has no host"}},
		{"unknown entitlement", func(o *Options) { o.InsecureEntitlements = []string{"network.host", "root"} }, []string{`"root" is not one of network.host, security.insecure`}},
		{"entitlement twice", func(o *Options) { o.InsecureEntitlements = []string{"network.host", "network.host"} }, []string{`"network.host" is listed twice`}},
		{"registry without host", func(o *Options) { o.Registries = []Registry{{HTTP: true}} }, []string{"Registries[0]: Host is empty"}},
		{"registry bad host", func(o *Options) { o.Registries = []Registry{{Host: "a b", HTTP: true}} }, []string{`Registries[0]: Host "a b" is not HOST[:PORT]`}},
		{"registry twice", func(o *Options) {
			o.Registries = []Registry{{Host: "r.example", HTTP: true}, {Host: "r.example", Insecure: true}}
		}, []string{`Registries[1]: "r.example" is configured twice`}},
		{"registry saying nothing", func(o *Options) { o.Registries = []Registry{{Host: "r.example"}} }, []string{"sets nothing"}},
		{"bad mirror", func(o *Options) { o.Registries = []Registry{{Host: "r.example", Mirrors: []string{"http://m"}}} }, []string{`mirror "http://m" of r.example is not HOST[:PORT][/PATH]`}},
		{"bad env name", func(o *Options) { o.Env = map[string]string{"A-B": "1"} }, []string{`Env: "A-B" is not a variable name`}},
		{"env value with dollar", func(o *Options) { o.Env = map[string]string{"A": "$HOME"} }, []string{"Env: the value of A contains"}},
		{"env value with newline", func(o *Options) { o.Env = map[string]string{"A": "1\nB=2"} }, []string{"Env: the value of A contains"}},
		{"cidr garbage", func(o *Options) { o.NetworkCIDR = "10.88/16" }, []string{`NetworkCIDR "10.88/16" is not an IPv4 network`}},
		{"cidr host address", func(o *Options) { o.NetworkCIDR = "10.88.0.1/16" }, []string{"is not a network address: use 10.88.0.0/16"}},
		{"cidr too small", func(o *Options) { o.NetworkCIDR = "10.88.0.0/28" }, []string{"use a /24 or larger"}},
		{"ipv6 cidr", func(o *Options) { o.NetworkCIDR = "fd00::/64" }, []string{"is not an IPv4 network"}},
		{"every problem at once", func(o *Options) { o.SSHUser, o.EngineSHA256, o.NetworkCIDR = "", "x", "x" }, []string{
			"3 problem(s)", "SSHUser is empty", `EngineSHA256 "x"`, `NetworkCIDR "x"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := fullOptions(t)
			tc.edit(&o)
			_, err := UserData(o)
			if err == nil {
				t.Fatalf("UserData accepted %+v", o)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
			if verr := o.Validate(); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate and UserData disagree: %v vs %v", verr, err)
			}
		})
	}
}

func TestUserDataAcceptsWhatItShould(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Options)
	}{
		{"file url without sum", func(o *Options) { o.EngineURL, o.EngineSHA256 = "file:///var/tmp/engine.tar", "" }},
		{"https without sum", func(o *Options) { o.EngineSHA256 = "" }},
		{"http with sum", func(o *Options) { o.EngineURL = "http://10.0.0.5:8080/engine" }},
		{"upper-case sum", func(o *Options) { o.EngineSHA256 = strings.ToUpper(o.EngineSHA256) }},
		{"client key without comment", func(o *Options) { o.Keys.ClientPublic = strings.Join(strings.Fields(o.Keys.ClientPublic)[:2], " ") }},
		{"host public with comment", func(o *Options) { o.Keys.HostPublic += " " + HostKeyComment }},
		{"root", func(o *Options) { o.SSHUser = "root" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := fullOptions(t)
			tc.edit(&o)
			if _, err := UserData(o); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestUserDataTooLarge(t *testing.T) {
	o := fullOptions(t)
	o.Env = map[string]string{}
	// values that do not compress: 500 random hex strings
	for i := 0; i < 500; i++ {
		b := make([]byte, 30)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		o.Env[fmt.Sprintf("V%03d", i)] = hex.EncodeToString(b)
	}
	if _, err := UserData(o); err != nil {
		t.Errorf("the plain script (run by hand on an existing builder) has no size limit: %v", err)
	}
	_, err := LaunchUserData(o)
	if err == nil || !strings.Contains(err.Error(), "EC2 takes at most 16384") {
		t.Errorf("a script of 30 KB that does not compress: %v, want the EC2 size limit named", err)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"": "''", "a b": "'a b'", "it's": `'it'\''s'`, "$x`y`": "'$x`y`'"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func mustRawKey(t *testing.T, pemText string) any {
	t.Helper()
	k, err := ssh.ParseRawPrivateKey([]byte(pemText))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The idle watchdog: on by default (DefaultIdleShutdown), at the duration asked, off when negative.
func TestUserDataIdleShutdown(t *testing.T) {
	for _, tc := range []struct {
		idle time.Duration
		want string
	}{
		{0, "IDLE_SECONDS=1200\n"},
		{90 * time.Second, "IDLE_SECONDS=90\n"},
		{-1, "IDLE_SECONDS=0\n"},
	} {
		o := fullOptions(t)
		o.IdleShutdown = tc.idle
		got, err := UserData(o)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("IdleShutdown %s: the script lacks %q", tc.idle, tc.want)
		}
	}
}

// The watchdog itself, run with stand-ins for ss, date, sleep and poweroff: it powers off only
// once no sshd connection was seen for its limit, and never while one is open.
func TestIdleWatchdogPowersOffOnlyWhenIdle(t *testing.T) {
	script, err := UserData(fullOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(script, "<<'SHIPYARD_WATCHDOG'\n")
	watchdog, _, ok2 := strings.Cut(rest, "\nSHIPYARD_WATCHDOG\n")
	if !ok || !ok2 {
		t.Fatal("the script has no SHIPYARD_WATCHDOG heredoc")
	}
	dir := t.TempDir()
	stub := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// the clock moves 20 s per date call; ss shows an sshd connection for its first 10 calls
	stub("date", `n=$(cat "$D/clock.n" 2>/dev/null || echo 1000); echo $((n + 20)) >"$D/clock.n"; echo $((n + 20))`)
	stub("sleep", `:`)
	stub("ss", `n=$(cat "$D/ss.n" 2>/dev/null || echo 0); echo $((n + 1)) >"$D/ss.n"; [ "$n" -ge 10 ] || echo 'ESTAB 0 0 10.0.0.2:22 10.0.0.1:5555 users:(("sshd",pid=1,fd=3))'`)
	stub("poweroff", `echo "$(cat "$D/ss.n") $(cat "$D/clock.n")" >"$D/off.n"`)
	if err := os.WriteFile(filepath.Join(dir, "watchdog"), []byte(watchdog), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", filepath.Join(dir, "watchdog"), "120")
	cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "D=" + dir}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the watchdog failed: %v\n%s", err, out)
	}
	off, err := os.ReadFile(filepath.Join(dir, "off.n"))
	if err != nil {
		t.Fatal("the watchdog exited without powering off")
	}
	var ssCalls, clock int
	if _, err := fmt.Sscan(string(off), &ssCalls, &clock); err != nil {
		t.Fatalf("poweroff recorded %q: %v", off, err)
	}
	// the last session was seen at ss call 10 (clock 1000 + 20*11 = 1220, the first date is
	// the start); idle from then on, so poweroff comes at the first check 120 s or more later
	if ssCalls <= 10 {
		t.Errorf("powered off at ss call %d, while a session was open", ssCalls)
	}
	if clock < 1220+120 {
		t.Errorf("powered off at clock %d, less than 120 s after the last session (1220)", clock)
	}
	if clock > 1220+120+20 {
		t.Errorf("powered off at clock %d, more than a check late", clock)
	}
}

// Where the engine comes from: the engine image (the published one by default, pulled from the
// mirrors of its registry first), a bundle, or the machine's own image.
func TestEngineImage(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		name          string
		edit          func(*Options)
		image, source string // ENGINE_IMAGE and IMAGE_SOURCES the script gets
		err           string
	}{
		{name: "default", edit: func(o *Options) {},
			image: enginever.Image, source: "https://registry.dagger.io"},
		{name: "pinned by digest", edit: func(o *Options) { o.EngineImage = "registry.dagger.io/engine:v0.19.10@" + digest },
			image: "registry.dagger.io/engine:v0.19.10@" + digest, source: "https://registry.dagger.io"},
		{name: "digest only", edit: func(o *Options) { o.EngineImage = "ecr.internal:443/dagger/engine@" + digest },
			image: "ecr.internal:443/dagger/engine@" + digest, source: "https://ecr.internal:443"},
		{name: "mirrors first, plain HTTP where the registries say so", edit: func(o *Options) {
			o.Registries = []Registry{
				{Host: "registry.dagger.io", Mirrors: []string{"10.99.0.1:5000", "mirror.internal/dagger"}},
				{Host: "10.99.0.1:5000", HTTP: true},
			}
		}, image: enginever.Image, source: "http://10.99.0.1:5000 https://mirror.internal/dagger https://registry.dagger.io"},
		{name: "a registry over plain HTTP", edit: func(o *Options) {
			o.EngineImage = "10.0.0.5:5000/engine:v0.19.10"
			o.Registries = []Registry{{Host: "10.0.0.5:5000", HTTP: true}}
		}, image: "10.0.0.5:5000/engine:v0.19.10", source: "http://10.0.0.5:5000"},
		{name: "the machine's own engine", edit: func(o *Options) { o.EngineImage = NoEngineImage }},
		{name: "a bundle wins", edit: func(o *Options) {
			o.EngineImage = "registry.dagger.io/engine:v0.19.10"
			o.EngineURL, o.EngineSHA256 = "https://artifacts.internal/engine.tar.gz", strings.Repeat("a", 64)
		}},
		{name: "no tag or digest", edit: func(o *Options) { o.EngineImage = "registry.dagger.io/engine" }, err: `EngineImage "registry.dagger.io/engine" is not HOST/REPOSITORY:TAG`},
		{name: "no registry host", edit: func(o *Options) { o.EngineImage = "engine:v0.19.10" }, err: "is not HOST/REPOSITORY:TAG"},
		{name: "a Docker Hub path", edit: func(o *Options) { o.EngineImage = "dagger/engine:v0.19.10" }, err: `EngineImage: "dagger/engine:v0.19.10" names no registry host`},
		{name: "a quote", edit: func(o *Options) { o.EngineImage = "registry.dagger.io/engine:v0.19.10'" }, err: "is not HOST/REPOSITORY:TAG"},
		{name: "a short digest", edit: func(o *Options) { o.EngineImage = "registry.dagger.io/engine@sha256:abc" }, err: "is not HOST/REPOSITORY:TAG"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := fullOptions(t)
			o.EngineURL, o.EngineSHA256, o.Registries = "", "", nil
			c.edit(&o)
			got, err := UserData(o)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"ENGINE_IMAGE=" + shellQuote(c.image) + "\n", "IMAGE_SOURCES=" + shellQuote(c.source) + "\n"} {
				if !strings.Contains(got, want) {
					t.Errorf("the script lacks %q", want)
				}
			}
		})
	}
}
