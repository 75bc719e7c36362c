package e2c

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"shipyard/internal/awsapi"
)

// hostKeys are one machine's host keys of each type the console parser accepts.
type hostKeys struct{ ed, ecdsa, rsa ssh.PublicKey }

var (
	hostKeysOnce sync.Once
	hostKeySets  [2]hostKeys
)

// testHostKeys returns two distinct sets of host keys (two machines, or two installs).
func testHostKeys(t *testing.T) (a, b hostKeys) {
	t.Helper()
	hostKeysOnce.Do(func() {
		for i := range hostKeySets {
			_, edPriv, err1 := ed25519.GenerateKey(rand.Reader)
			ecPriv, err2 := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			rsaPriv, err3 := rsa.GenerateKey(rand.Reader, 2048)
			if err := errors.Join(err1, err2, err3); err != nil {
				t.Fatal(err)
			}
			hostKeySets[i] = hostKeys{sshPub(t, edPriv.Public()), sshPub(t, ecPriv.Public()), sshPub(t, rsaPriv.Public())}
		}
	})
	return hostKeySets[0], hostKeySets[1]
}

func sshPub(t *testing.T, k any) ssh.PublicKey {
	t.Helper()
	p, err := ssh.NewPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// authorized is the line of a key's .pub file: "type blob root@host".
func authorized(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " root@debian"
}

// fingerprint is the line `ssh-keygen -l` prints for k.
func fingerprint(k ssh.PublicKey) string {
	bits := 256
	if k.Type() == ssh.KeyAlgoRSA {
		bits = k.(ssh.CryptoPublicKey).CryptoPublicKey().(*rsa.PublicKey).N.BitLen()
	}
	return fmt.Sprintf("%d %s root@debian (%s)", bits, ssh.FingerprintSHA256(k), fingerprintLabels[k.Type()])
}

// printed renders what cloud-init's write-ssh-key-fingerprints prints for keys, as lines: the
// fingerprint block, then the key block.
func printed(keys ...ssh.PublicKey) []string {
	out := []string{"", strings.Repeat("#", 61), consoleFingerprintsBegin}
	for _, k := range keys {
		out = append(out, fingerprint(k))
	}
	out = append(out, consoleFingerprintsEnd, strings.Repeat("#", 61), consoleKeysBegin)
	for _, k := range keys {
		out = append(out, authorized(k))
	}
	return append(out, consoleKeysEnd)
}

// prefixed puts p before every line.
func prefixed(p string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = p + l
	}
	return out
}

// console joins parts of lines into console output with eol line ends.
func console(eol string, parts ...[]string) string {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return strings.Join(all, eol) + eol
}

// bootLog is what a console shows before cloud-init's final stage.
var bootLog = []string{
	"[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x413fd0c1]",
	"[    0.000000] Linux version 6.1.0-28-arm64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP Debian 6.1.119-1",
	"[  OK  ] Started ssh.service - OpenBSD Secure Shell server.",
	"[   21.731242] cloud-init[612]: Cloud-init v. 22.4.2 running 'modules:final' at Thu, 05 Dec 2026 10:00:00 +0000. Up 21.50 seconds.",
}

const syslogPrefix = "<14>Dec  5 10:00:01 ec2: "

func TestParseConsoleHostKeys(t *testing.T) {
	a, b := testHostKeys(t)
	all := printed(a.ed, a.ecdsa, a.rsa)
	// interleave kernel messages after the first line of each block
	var noisy []string
	for _, l := range all {
		noisy = append(noisy, l)
		if l == consoleFingerprintsBegin || l == consoleKeysBegin {
			noisy = append(noisy, "[   22.104311] random: crng init done", "[   22.104900] audit: type=1400 audit(1733392801.5:2): apparmor=\"STATUS\"")
		}
	}
	fpBlock, keyBlock := all[:7], all[7:]
	wrongFP := printed(a.ed, a.ecdsa, a.rsa)
	wrongFP[3] = fingerprint(b.ed) // the ed25519 fingerprint line names another key
	legacy := printed(a.ed, a.ecdsa)
	legacy[3] = "256 MD5:" + ssh.FingerprintLegacyMD5(a.ed) + " root@debian (ED25519)"
	legacy[4] = "256 " + ssh.FingerprintLegacyMD5(a.ecdsa) + " root@debian (ECDSA)"
	glued := printed(a.ed)
	glued[7] = authorized(a.ed)[:40] + "[   22.1] random: crng init done"
	relabelled := printed(a.ecdsa)
	relabelled[7] = "ssh-ed25519 " + strings.Fields(authorized(a.ecdsa))[1] + " root@debian"
	motoText := "Linux version 2.6.16-xenU (builder@patchbat.amazonsa) (gcc version 4.0.1 20050727 (Red Hat 4.0.1-5)) #1 SMP Thu Oct 26 08:41:26 SAST 2006\nBIOS-provided physical RAM map:\nEnabling fast FPU save and restore... done.\n"

	tests := []struct {
		name    string
		output  string
		want    []ssh.PublicKey // nil: an error
		checked bool
		ignored []string
		err     error  // ErrNoConsoleHostKeys or ErrBadConsoleHostKeys
		text    string // in the error
	}{
		{"cloud-init's blocks as printed", console("\n", bootLog, all), []ssh.PublicKey{a.ed, a.ecdsa, a.rsa}, true, nil, nil, ""},
		{"ec2: syslog prefix and CRLF", console("\r\n", bootLog, prefixed(syslogPrefix, all)), []ssh.PublicKey{a.ed, a.ecdsa, a.rsa}, true, nil, nil, ""},
		{"prefixed fingerprints, bare keys", console("\r\n", prefixed(syslogPrefix, fpBlock), keyBlock), []ssh.PublicKey{a.ed, a.ecdsa, a.rsa}, true, nil, nil, ""},
		{"journal prefix", console("\n", prefixed("[   21.9] cloud-init[612]: ", all)), []ssh.PublicKey{a.ed, a.ecdsa, a.rsa}, true, nil, nil, ""},
		{"kernel messages in between", console("\r\n", bootLog, noisy), []ssh.PublicKey{a.ed, a.ecdsa, a.rsa}, true, nil, nil, ""},
		{"serial CR CR LF", console("\r\r\n", all), []ssh.PublicKey{a.ed, a.ecdsa, a.rsa}, true, nil, nil, ""},
		{"newest boot wins", console("\n", bootLog, printed(b.ed, b.rsa), bootLog, printed(a.ed, a.ecdsa)), []ssh.PublicKey{a.ed, a.ecdsa}, true, nil, nil, ""},
		{"no fingerprint block", console("\n", keyBlock), []ssh.PublicKey{a.ed, a.ecdsa, a.rsa}, false, nil, nil, ""},
		{"empty fingerprint block (ssh_fp_console_blacklist)", console("\n", []string{consoleFingerprintsBegin, consoleFingerprintsEnd}, keyBlock), []ssh.PublicKey{a.ed, a.ecdsa, a.rsa}, false, nil, nil, ""},
		{"fingerprints of an older boot do not check this one", console("\n", printed(b.ed), bootLog, keyBlock), []ssh.PublicKey{a.ed, a.ecdsa, a.rsa}, false, nil, nil, ""},
		{"legacy MD5 fingerprints", console("\n", legacy), []ssh.PublicKey{a.ed, a.ecdsa}, true, nil, nil, ""},
		{"ecdsa and rsa only", console("\n", printed(a.rsa, a.ecdsa)), []ssh.PublicKey{a.rsa, a.ecdsa}, true, nil, nil, ""},
		{"rsa only", console("\n", printed(a.rsa)), []ssh.PublicKey{a.rsa}, true, nil, nil, ""},
		{"printed twice (console and journal)", console("\n", []string{consoleKeysBegin, authorized(a.ed), "cloud-init[612]: " + authorized(a.ed), consoleKeysEnd}), []ssh.PublicKey{a.ed}, false, nil, nil, ""},
		{"ssh-dss is ignored", console("\n", []string{consoleKeysBegin, "ssh-dss AAAAB3NzaC1kc3MAAACBAP root@debian", authorized(a.ed), consoleKeysEnd}), []ssh.PublicKey{a.ed}, false, []string{"ssh-dss"}, nil, ""},

		{"empty output", "", nil, false, nil, ErrNoConsoleHostKeys, "nothing yet (the instance may still be booting)"},
		{"booting", console("\r\n", bootLog), nil, false, nil, ErrNoConsoleHostKeys,
			`no "-----BEGIN SSH HOST KEY KEYS-----" line in its 4 lines, which end "[   21.731242] cloud-init[612]: Cloud-init v. 22.4.2`},
		{"moto's canned output", motoText, nil, false, nil, ErrNoConsoleHostKeys, `which end "Enabling fast FPU save and restore... done."`},
		{"fingerprints only", console("\n", bootLog, fpBlock), nil, false, nil, ErrNoConsoleHostKeys, "the host key fingerprints, the keys not yet"},
		{"keys begun", console("\n", bootLog, all[:len(all)-2]), nil, false, nil, ErrNoConsoleHostKeys, "the host key block begun on line 13, not ended yet"},
		{"a newer boot is printing", console("\n", all, bootLog, printed(b.ed)[:5]), nil, false, nil, ErrNoConsoleHostKeys,
			"a newer boot printing its host keys (line 20), not ended yet; the keys of lines 9-13 are an older boot's"},
		{"output starts inside the key block (64 KB window)", console("\n", keyBlock[2:]), nil, false, nil, ErrNoConsoleHostKeys, "no \"-----BEGIN SSH HOST KEY KEYS-----\" line"},

		{"fingerprint differs", console("\n", wrongFP), nil, false, nil, ErrBadConsoleHostKeys,
			"the ssh-ed25519 key printed in lines 9-13 has the fingerprint " + ssh.FingerprintSHA256(a.ed) + ", but the fingerprint block of lines 3-7 prints " + ssh.FingerprintSHA256(b.ed) + " (line 4) for ED25519"},
		{"fingerprint missing", console("\n", fpBlock[:3], fpBlock[4:], keyBlock), nil, false, nil, ErrBadConsoleHostKeys,
			"the ssh-ed25519 key printed in lines 8-12 (fingerprint " + ssh.FingerprintSHA256(a.ed) + ") is missing from the fingerprint block of lines 3-6, which lists " + ssh.FingerprintSHA256(a.ecdsa) + " (ECDSA), "},
		{"key cut by a kernel message", console("\n", glued), nil, false, nil, ErrBadConsoleHostKeys, "line 8: the ssh-ed25519 key is not base64"},
		{"key of another type than printed", console("\n", relabelled), nil, false, nil, ErrBadConsoleHostKeys, "line 8: a ecdsa-sha2-nistp256 key printed as ssh-ed25519"},
		{"blob that is no key", console("\n", []string{consoleKeysBegin, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 root@debian", consoleKeysEnd}), nil, false, nil, ErrBadConsoleHostKeys, "line 2: the ssh-ed25519 key does not parse"},
		{"two different ed25519 keys", console("\n", []string{consoleKeysBegin, authorized(a.ed), authorized(b.ed), consoleKeysEnd}), nil, false, nil, ErrBadConsoleHostKeys,
			"lines 2 and 3: two different ssh-ed25519 keys"},
		{"empty key block", console("\n", []string{consoleKeysBegin, consoleKeysEnd}), nil, false, nil, ErrBadConsoleHostKeys,
			"the host key block of lines 1-2 holds no ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa key: check the image's ssh_key_console_blacklist"},
		{"ssh-dss only", console("\n", []string{consoleKeysBegin, "ssh-dss AAAAB3NzaC1kc3MAAACBAP root@debian", consoleKeysEnd}), nil, false, nil, ErrBadConsoleHostKeys, "(only ssh-dss, never pinned)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConsoleHostKeys(tt.output)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.text) {
					t.Fatalf("error\n%v\nwant one matching %q and holding\n%s", err, tt.err, tt.text)
				}
				other := ErrBadConsoleHostKeys
				if tt.err == ErrBadConsoleHostKeys {
					other = ErrNoConsoleHostKeys
				}
				if errors.Is(err, other) {
					t.Errorf("error %v matches both sentinels", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameKeys(got.Keys, tt.want) || got.Checked != tt.checked || strings.Join(got.Ignored, ",") != strings.Join(tt.ignored, ",") {
				t.Errorf("got %s, checked %v, ignored %v; want %s, checked %v, ignored %v",
					fingerprints(got.Keys), got.Checked, got.Ignored, fingerprints(tt.want), tt.checked, tt.ignored)
			}
		})
	}
}

func TestConsoleHostKeysPreferred(t *testing.T) {
	a, _ := testHostKeys(t)
	for _, tt := range []struct {
		keys []ssh.PublicKey
		want ssh.PublicKey
	}{
		{[]ssh.PublicKey{a.rsa, a.ecdsa, a.ed}, a.ed},
		{[]ssh.PublicKey{a.rsa, a.ecdsa}, a.ecdsa},
		{[]ssh.PublicKey{a.rsa}, a.rsa},
		{nil, nil},
	} {
		got := ConsoleHostKeys{Keys: tt.keys}.Preferred()
		if fingerprints([]ssh.PublicKey{got}) != fingerprints([]ssh.PublicKey{tt.want}) {
			t.Errorf("Preferred of %s = %s, want %s", fingerprints(tt.keys), fingerprints([]ssh.PublicKey{got}), fingerprints([]ssh.PublicKey{tt.want}))
		}
	}
}

func sameKeys(a, b []ssh.PublicKey) bool {
	return fingerprints(a) == fingerprints(b)
}

func fingerprints(keys []ssh.PublicKey) string {
	var s []string
	for _, k := range keys {
		if k == nil {
			s = append(s, "<nil>")
			continue
		}
		s = append(s, k.Type()+" "+ssh.FingerprintSHA256(k))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// fakeConsole answers GetConsoleOutput with reads[n] for the n-th call (the last one again
// after the end).
type fakeConsole struct {
	reads []consoleRead
	n     int
}

type consoleRead struct {
	out string
	err error
}

func (f *fakeConsole) GetConsoleOutput(_ context.Context, id string) (awsapi.ConsoleOutput, error) {
	r := f.reads[min(f.n, len(f.reads)-1)]
	f.n++
	if r.err != nil {
		return awsapi.ConsoleOutput{}, r.err
	}
	return awsapi.ConsoleOutput{InstanceID: id, Timestamp: time.Date(2026, 12, 5, 10, 0, 2, 0, time.UTC), Output: r.out}, nil
}

func TestWaitConsoleHostKeys(t *testing.T) {
	a, _ := testHostKeys(t)
	keysOut := console("\r\n", bootLog, prefixed(syslogPrefix, printed(a.ed, a.ecdsa)))
	booting := console("\r\n", bootLog)
	throttled := &awsapi.APIError{Action: "GetConsoleOutput", Code: "RequestLimitExceeded", Message: "Request limit exceeded.", StatusCode: 503}
	notFound := &awsapi.APIError{Action: "GetConsoleOutput", Code: "InvalidInstanceID.NotFound", Message: "The instance ID 'i-1' does not exist", StatusCode: 400}
	denied := &awsapi.APIError{Action: "GetConsoleOutput", Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation.", StatusCode: 403}
	bad := console("\n", []string{consoleKeysBegin, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 root@debian", consoleKeysEnd})

	tests := []struct {
		name    string
		reads   []consoleRead
		timeout time.Duration
		n       int // reads made
		err     error
		text    []string // in the error
		logs    []string // in the log, in order
	}{
		{"keys after booting", []consoleRead{{out: ""}, {out: booting}, {out: booting}, {out: keysOut}}, time.Minute, 4, nil, nil, []string{
			"e2c: reading the console of instance i-1 for the SSH host keys cloud-init prints (up to 1m0s)",
			"e2c: no SSH host keys on the console of instance i-1 yet: its console (0 bytes, updated 2026-12-05T10:00:02Z) shows nothing yet (the instance may still be booting)",
			"e2c: no SSH host keys on the console of instance i-1 yet: its console (" + fmt.Sprint(len(booting)) + " bytes, updated 2026-12-05T10:00:02Z) shows no \"-----BEGIN SSH HOST KEY KEYS-----\" line",
			"e2c: instance i-1 printed its SSH host keys on its console: pinning ssh-ed25519 " + ssh.FingerprintSHA256(a.ed) + " (its printed fingerprint matches; also printed: ecdsa-sha2-nistp256)",
		}},
		{"unknown instance and throttling are read again", []consoleRead{{err: notFound}, {err: throttled}, {out: keysOut}}, time.Minute, 3, nil, nil, []string{
			"yet: its console could not be read: EC2 GetConsoleOutput: InvalidInstanceID.NotFound",
			"yet: its console could not be read: EC2 GetConsoleOutput: RequestLimitExceeded",
			"pinning ssh-ed25519",
		}},
		{"never printed", []consoleRead{{out: booting}}, 30 * time.Millisecond, 0, ErrNoConsoleHostKeys, []string{
			"no SSH host keys on the instance's console yet: instance i-1 printed none in ",
			" reads); the last read: its console (" + fmt.Sprint(len(booting)) + " bytes, updated 2026-12-05T10:00:02Z) shows no \"-----BEGIN SSH HOST KEY KEYS-----\" line in its 4 lines, which end \"[   21.731242] cloud-init[612]:",
			"no connection is made to an unverified host key: set E2C_SSH_HOST_KEY",
			"[keys_to_console, always]", "emit_keys_to_console: false", "ssh_key_console_blacklist",
		}, nil},
		{"untrustworthy keys end the wait", []consoleRead{{out: booting}, {out: bad}}, time.Minute, 2, ErrBadConsoleHostKeys, []string{
			"instance i-1: the SSH host keys on the instance's console cannot be trusted: line 2: the ssh-ed25519 key does not parse",
			"set E2C_SSH_HOST_KEY",
		}, nil},
		{"refused by AWS", []consoleRead{{err: denied}}, time.Minute, 1, denied, []string{
			"reading the console of instance i-1 for its SSH host keys: EC2 GetConsoleOutput: UnauthorizedOperation: You are not authorized to perform this operation. (HTTP 403) (allow ec2:GetConsoleOutput on the instance to the builder's AWS identity); no connection is made",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeConsole{reads: tt.reads}
			var logs []string
			keys, err := WaitConsoleHostKeys(context.Background(), f, "i-1", tt.timeout, time.Millisecond, func(s string) { logs = append(logs, s) })
			t.Logf("%d reads; error: %v", f.n, err)
			if tt.err == nil && err != nil {
				t.Fatal(err)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want one matching %v", err, tt.err)
			}
			for _, s := range tt.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error\n%v\ndoes not hold\n%s", err, s)
				}
			}
			if tt.n > 0 && f.n != tt.n {
				t.Errorf("%d reads, want %d", f.n, tt.n)
			}
			if tt.err == nil && !sameKeys(keys.Keys, []ssh.PublicKey{a.ed, a.ecdsa}) {
				t.Errorf("keys %s", fingerprints(keys.Keys))
			}
			rest := strings.Join(logs, "\n")
			for _, s := range tt.logs {
				i := strings.Index(rest, s)
				if i < 0 {
					t.Errorf("log\n%s\ndoes not hold, in order,\n%s", strings.Join(logs, "\n"), s)
					break
				}
				rest = rest[i+len(s):]
			}
		})
	}

	t.Run("logs a change once", func(t *testing.T) {
		f := &fakeConsole{reads: []consoleRead{{out: booting}, {out: booting + "more\n"}, {out: booting + "more\nand more\n"}, {out: keysOut}}}
		var logs []string
		if _, err := WaitConsoleHostKeys(context.Background(), f, "i-1", time.Minute, time.Millisecond, func(s string) { logs = append(logs, s) }); err != nil {
			t.Fatal(err)
		}
		if len(logs) != 3 {
			t.Errorf("log %q: want the start, one line for the booting console and the keys", logs)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := WaitConsoleHostKeys(ctx, &fakeConsole{reads: []consoleRead{{out: booting}}}, "i-1", time.Minute, time.Millisecond, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
	t.Run("bad bounds", func(t *testing.T) {
		_, err := WaitConsoleHostKeys(context.Background(), &fakeConsole{reads: []consoleRead{{out: keysOut}}}, "i-1", time.Minute, 0, nil)
		if err == nil || !strings.Contains(err.Error(), "must be positive") {
			t.Errorf("error %v, want one about the poll interval", err)
		}
	})
}

func TestPinConsoleHostKey(t *testing.T) {
	a, _ := testHostKeys(t)
	keysOut := console("\r\n", bootLog, prefixed(syslogPrefix, printed(a.rsa, a.ecdsa, a.ed)))
	b := Builder{PinFromConsole: true, Config: Config{ReadyTimeout: time.Minute, PollInterval: time.Millisecond}}
	st := State{InstanceID: "i-1", Strategy: StrategyExisting, PublicIP: "203.0.113.7"}
	tests := []struct {
		name  string
		reads []consoleRead
		want  State
		err   []string
	}{
		{"the preferred key of the console is the state's host key", []consoleRead{{out: console("\n", bootLog)}, {out: keysOut}},
			State{InstanceID: "i-1", Strategy: StrategyExisting, PublicIP: "203.0.113.7", SSHHostKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(a.ed)))}, nil},
		{"keys that cannot be trusted fail setup", []consoleRead{{out: console("\n", []string{consoleKeysBegin, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", consoleKeysEnd})}},
			st, []string{"ARM builder i-1: its SSH host key could not be pinned from its console, so it is not connected to: instance i-1: the SSH host keys on the instance's console cannot be trusted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.PinConsoleHostKey(context.Background(), &fakeConsole{reads: tt.reads}, st, nil)
			if tt.err == nil && err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.err {
				if err == nil || !strings.Contains(err.Error(), s) {
					t.Errorf("error %v, want one with %q", err, s)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("the deadline is the ready timeout", func(t *testing.T) {
		b := b
		b.Config.ReadyTimeout = 20 * time.Millisecond
		_, err := b.PinConsoleHostKey(context.Background(), &fakeConsole{reads: []consoleRead{{out: console("\n", bootLog)}}}, st, nil)
		if !errors.Is(err, ErrNoConsoleHostKeys) {
			t.Fatalf("error %v, want ErrNoConsoleHostKeys", err)
		}
	})
}
