package e2c

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"shipyard/internal/awsapi"
	"shipyard/internal/retry"
)

// ConsoleReader reads an instance's console output; *awsapi.Client satisfies it.
type ConsoleReader interface {
	GetConsoleOutput(ctx context.Context, instanceID string) (awsapi.ConsoleOutput, error)
}

var _ ConsoleReader = (*awsapi.Client)(nil)

// The lines cloud-init's keys_to_console module (its write-ssh-key-fingerprints helper) prints
// around the host keys' fingerprints (`ssh-keygen -l` of each /etc/ssh/ssh_host_*key.pub) and
// around the public keys themselves (each file as it is).
const (
	consoleFingerprintsBegin = "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
	consoleFingerprintsEnd   = "-----END SSH HOST KEY FINGERPRINTS-----"
	consoleKeysBegin         = "-----BEGIN SSH HOST KEY KEYS-----"
	consoleKeysEnd           = "-----END SSH HOST KEY KEYS-----"
)

var (
	// ErrNoConsoleHostKeys means the console shows no complete host key block of the newest boot
	// yet: read it again later.
	ErrNoConsoleHostKeys = errors.New("no SSH host keys on the instance's console yet")
	// ErrBadConsoleHostKeys means the newest boot printed its host keys, but they cannot be
	// trusted (malformed, no usable type, or at odds with their printed fingerprints): reading
	// again does not help.
	ErrBadConsoleHostKeys = errors.New("the SSH host keys on the instance's console cannot be trusted")
)

// consoleKeyTypes are the host key types taken from the console, in order of preference.
var consoleKeyTypes = []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSA}

// consoleIgnoredTypes are host key types a console may print that are never pinned.
var consoleIgnoredTypes = []string{ssh.InsecureKeyAlgoDSA, ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256}

// fingerprintLabels are the type names `ssh-keygen -l` prints in parentheses.
var fingerprintLabels = map[string]string{
	ssh.KeyAlgoED25519: "ED25519", ssh.KeyAlgoECDSA256: "ECDSA", ssh.KeyAlgoECDSA384: "ECDSA",
	ssh.KeyAlgoECDSA521: "ECDSA", ssh.KeyAlgoRSA: "RSA",
}

// fingerprintLine is a line of `ssh-keygen -l`: bits, hash, comment, (TYPE), after any prefix.
// The hash is HASH:… (SHA256:base64, MD5:hex pairs) or, from old ssh-keygen, bare MD5 hex pairs;
// its name starts with a letter, so a syslog prefix's time (10:00:01) is no hash.
var fingerprintLine = regexp.MustCompile(`(?:^|\s)\d+\s+([A-Z][A-Z0-9]*:[A-Za-z0-9+/=:]+|[0-9a-f]{2}(?::[0-9a-f]{2}){15})\s+.*\(([A-Z0-9-]+)\)\s*$`)

// ConsoleHostKeys are the SSH host keys an instance printed to its console at its newest boot.
type ConsoleHostKeys struct {
	// Keys are the usable keys of the newest complete key block, in the order printed; never
	// empty when ParseConsoleHostKeys succeeds.
	Keys []ssh.PublicKey
	// Checked says that the same boot's fingerprint block listed every one of Keys. It is false
	// when that boot printed no fingerprints (or an empty block): the keys are then taken as
	// printed.
	Checked bool
	// Ignored are the types printed that are never pinned (ssh-dss, security keys).
	Ignored []string
}

// Preferred returns the key to pin: ed25519, else ECDSA (P-256, P-384, P-521), else RSA.
func (k ConsoleHostKeys) Preferred() ssh.PublicKey {
	if i := k.preferred(); i >= 0 {
		return k.Keys[i]
	}
	return nil
}

// preferred is the index of Preferred in Keys, -1 when Keys is empty.
func (k ConsoleHostKeys) preferred() int {
	for _, t := range consoleKeyTypes {
		if i := indexOfType(k.Keys, t); i >= 0 {
			return i
		}
	}
	return -1
}

// consoleBlock is a block between a BEGIN and an END line; begin and end are 1-based line
// numbers (end 0: not ended).
type consoleBlock struct {
	begin, end int
	lines      []consoleLine
}

type consoleLine struct {
	n    int
	text string
}

// notYet is what a console without the newest boot's keys shows: state is one of a few stable
// words (for telling a change apart), text the details.
type notYet struct{ state, text string }

// ParseConsoleHostKeys reads the host keys cloud-init printed in console output. Lines may carry
// any prefix (`ec2: `, a syslog header, `cloud-init[612]: `), end in \r\n, and have other
// messages (the kernel's) between them; a key line is a known key type followed by its base64
// blob, a fingerprint line what `ssh-keygen -l` prints. The newest boot wins: the last complete
// key block is taken, and while a newer block is begun but not ended the keys are not there
// yet. Each key must be well formed, and listed with the same fingerprint in the fingerprint
// block that precedes it in the same boot, when there is one.
//
// The error matches ErrNoConsoleHostKeys when no complete block of the newest boot is there yet
// (read again later; the text says what the output shows), and ErrBadConsoleHostKeys when the
// newest block is there but cannot be trusted.
func ParseConsoleHostKeys(output string) (ConsoleHostKeys, error) {
	keys, seen, err := parseConsole(output)
	if seen != nil {
		return ConsoleHostKeys{}, fmt.Errorf("%w: %s", ErrNoConsoleHostKeys, seen.text)
	}
	if err != nil {
		return ConsoleHostKeys{}, fmt.Errorf("%w: %w", ErrBadConsoleHostKeys, err)
	}
	return keys, nil
}

// parseConsole is ParseConsoleHostKeys with "what the output shows" apart: seen is set when
// there are no keys yet, err when the newest keys cannot be trusted.
func parseConsole(output string) (keys ConsoleHostKeys, seen *notYet, err error) {
	if strings.TrimSpace(output) == "" {
		return keys, &notYet{"empty", "nothing yet (the instance may still be booting)"}, nil
	}
	lines := strings.Split(strings.TrimRight(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(output), "\n"), "\n")
	var keyBlocks, fpBlocks []consoleBlock
	var open *consoleBlock // the block being read
	openIsKeys := false
	lastBegin := 0
	for i, text := range lines {
		n := i + 1
		switch {
		case strings.Contains(text, consoleKeysBegin), strings.Contains(text, consoleFingerprintsBegin):
			// a BEGIN inside an unended block: that printing was cut off (a reboot); start afresh
			open = &consoleBlock{begin: n}
			openIsKeys = strings.Contains(text, consoleKeysBegin)
			lastBegin = n
		case strings.Contains(text, consoleKeysEnd), strings.Contains(text, consoleFingerprintsEnd):
			isKeys := strings.Contains(text, consoleKeysEnd)
			if open != nil && openIsKeys == isKeys {
				open.end = n
				if isKeys {
					keyBlocks = append(keyBlocks, *open)
				} else {
					fpBlocks = append(fpBlocks, *open)
				}
			}
			// an END without its BEGIN: the output starts inside a block (EC2 keeps the newest
			// 64 KB); nothing to read there
			open = nil
		case open != nil:
			open.lines = append(open.lines, consoleLine{n, text})
		}
	}
	if len(keyBlocks) == 0 {
		switch {
		case open != nil && openIsKeys:
			return keys, &notYet{"keys begun", fmt.Sprintf("the host key block begun on line %d, not ended yet", open.begin)}, nil
		case open != nil || len(fpBlocks) > 0:
			return keys, &notYet{"fingerprints only", "the host key fingerprints, the keys not yet"}, nil
		}
		return keys, &notYet{"no keys", fmt.Sprintf("no %q line in its %d lines, which end %s", consoleKeysBegin, len(lines), lastLine(lines))}, nil
	}
	kb := keyBlocks[len(keyBlocks)-1]
	if lastBegin > kb.end {
		return keys, &notYet{"newer boot", fmt.Sprintf("a newer boot printing its host keys (line %d), not ended yet; the keys of lines %d-%d are an older boot's", lastBegin, kb.begin, kb.end)}, nil
	}
	prevEnd := 0
	if len(keyBlocks) > 1 {
		prevEnd = keyBlocks[len(keyBlocks)-2].end
	}
	var fb *consoleBlock
	for i := range fpBlocks {
		if fpBlocks[i].begin > prevEnd && fpBlocks[i].end < kb.begin {
			fb = &fpBlocks[i]
		}
	}
	keys, err = parseKeyBlock(kb)
	if err != nil {
		return ConsoleHostKeys{}, nil, err
	}
	if fb != nil {
		checked, err := checkFingerprints(keys.Keys, kb, *fb)
		if err != nil {
			return ConsoleHostKeys{}, nil, err
		}
		keys.Checked = checked
	}
	return keys, nil, nil
}

// parseKeyBlock reads the keys of a complete key block; lines without a key type followed by a
// blob are other messages and skipped.
func parseKeyBlock(b consoleBlock) (ConsoleHostKeys, error) {
	var keys ConsoleHostKeys
	lineOf := map[string]int{} // the line of the first key of each type
	for _, l := range b.lines {
		typ, blob := keyFields(l.text)
		if typ == "" {
			continue
		}
		if !slices.Contains(consoleKeyTypes, typ) {
			keys.Ignored = append(keys.Ignored, typ)
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(blob)
		if err != nil {
			return ConsoleHostKeys{}, fmt.Errorf("line %d: the %s key is not base64 (%v): %q", l.n, typ, err, shorten(l.text))
		}
		key, err := ssh.ParsePublicKey(raw)
		if err != nil {
			return ConsoleHostKeys{}, fmt.Errorf("line %d: the %s key does not parse (%v): %q", l.n, typ, err, shorten(l.text))
		}
		if key.Type() != typ {
			return ConsoleHostKeys{}, fmt.Errorf("line %d: a %s key printed as %s", l.n, key.Type(), typ)
		}
		if first, dup := lineOf[typ]; dup {
			if string(keys.Keys[indexOfType(keys.Keys, typ)].Marshal()) == string(key.Marshal()) {
				continue // printed twice (console and journal)
			}
			return ConsoleHostKeys{}, fmt.Errorf("lines %d and %d: two different %s keys (%s, %s); which one sshd presents is unknown",
				first, l.n, typ, ssh.FingerprintSHA256(keys.Keys[indexOfType(keys.Keys, typ)]), ssh.FingerprintSHA256(key))
		}
		lineOf[typ] = l.n
		keys.Keys = append(keys.Keys, key)
	}
	if len(keys.Keys) == 0 {
		ignored := ""
		if len(keys.Ignored) > 0 {
			ignored = " (only " + strings.Join(keys.Ignored, ", ") + ", never pinned)"
		}
		return ConsoleHostKeys{}, fmt.Errorf("the host key block of lines %d-%d holds no %s key%s: check the image's ssh_key_console_blacklist",
			b.begin, b.end, strings.Join(consoleKeyTypes, ", "), ignored)
	}
	return keys, nil
}

// keyFields finds a key type followed by a blob ("AAAA…": every blob starts with the 4-byte
// length of its type name) in a line, after any prefix; "" when the line holds none.
func keyFields(line string) (typ, blob string) {
	f := strings.Fields(line)
	for i := 0; i+1 < len(f); i++ {
		if (slices.Contains(consoleKeyTypes, f[i]) || slices.Contains(consoleIgnoredTypes, f[i])) && strings.HasPrefix(f[i+1], "AAAA") {
			return f[i], f[i+1]
		}
	}
	return "", ""
}

// checkFingerprints checks every key against the fingerprint block fb; false when fb lists no
// fingerprint at all.
func checkFingerprints(keys []ssh.PublicKey, kb, fb consoleBlock) (bool, error) {
	type entry struct {
		n           int
		hash, label string
	}
	var entries []entry
	for _, l := range fb.lines {
		if m := fingerprintLine.FindStringSubmatch(l.text); m != nil {
			entries = append(entries, entry{l.n, m[1], m[2]})
		}
	}
	if len(entries) == 0 {
		return false, nil
	}
	for _, key := range keys {
		sha := ssh.FingerprintSHA256(key)
		md5 := ssh.FingerprintLegacyMD5(key)
		label := fingerprintLabels[key.Type()]
		var sameType []string
		found := false
		for _, e := range entries {
			if e.hash == sha || e.hash == md5 || e.hash == "MD5:"+md5 {
				found = true
				break
			}
			if e.label == label {
				sameType = append(sameType, fmt.Sprintf("%s (line %d)", e.hash, e.n))
			}
		}
		switch {
		case found:
		case len(sameType) > 0:
			return false, fmt.Errorf("the %s key printed in lines %d-%d has the fingerprint %s, but the fingerprint block of lines %d-%d prints %s for %s",
				key.Type(), kb.begin, kb.end, sha, fb.begin, fb.end, strings.Join(sameType, ", "), label)
		default:
			var all []string
			for _, e := range entries {
				all = append(all, e.hash+" ("+e.label+")")
			}
			return false, fmt.Errorf("the %s key printed in lines %d-%d (fingerprint %s) is missing from the fingerprint block of lines %d-%d, which lists %s",
				key.Type(), kb.begin, kb.end, sha, fb.begin, fb.end, strings.Join(all, ", "))
		}
	}
	return true, nil
}

func indexOfType(keys []ssh.PublicKey, t string) int {
	for i, k := range keys {
		if k.Type() == t {
			return i
		}
	}
	return -1
}

// lastLine quotes the last non-empty line of lines, shortened.
func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(lines[i]); s != "" {
			return fmt.Sprintf("%q", shorten(s))
		}
	}
	return "none"
}

// shorten cuts s to 120 bytes.
func shorten(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// consoleKeyVarHint and consoleKeysPrintHint say what to do when an instance's host key cannot
// be read from its console.
const (
	consoleKeyVarHint = "no connection is made to an unverified host key: set E2C_SSH_HOST_KEY to the builder's host " +
		"public key (its /etc/ssh/ssh_host_ed25519_key.pub, read on the instance itself)"
	consoleKeysPrintHint = consoleKeyVarHint + ", or let the image's cloud-init print the host keys at every boot: its " +
		"keys_to_console module runs once per instance unless cloud_final_modules lists it as [keys_to_console, always], " +
		"prints nothing with `ssh: {emit_keys_to_console: false}`, and leaves out the types in ssh_key_console_blacklist " +
		"(and the fingerprints in ssh_fp_console_blacklist)"
)

// WaitConsoleHostKeys reads the console of the instance id every poll until it shows the host
// keys of its newest boot (ParseConsoleHostKeys), for at most timeout. A console without them
// yet, an unknown instance (EC2 is eventually consistent) and a failure worth retrying are read
// again; keys that cannot be trusted, any other API error and the end of ctx end the wait at
// once. At the deadline the error matches ErrNoConsoleHostKeys and names the instance, how long
// and how often it read, what the last read showed, and what to do. log (nil: none) gets a line
// when the wait starts, whenever what the console shows changes, and when the keys are found.
func WaitConsoleHostKeys(ctx context.Context, api ConsoleReader, id string, timeout, poll time.Duration, log func(string)) (ConsoleHostKeys, error) {
	if poll <= 0 || timeout <= 0 {
		return ConsoleHostKeys{}, fmt.Errorf("reading the console of instance %s: the timeout (%s) and the poll interval (%s) must be positive", id, timeout, poll)
	}
	if log == nil {
		log = func(string) {}
	}
	start := time.Now()
	deadline := start.Add(timeout)
	log(fmt.Sprintf("e2c: reading the console of instance %s for the SSH host keys cloud-init prints (up to %s)", id, timeout))
	reads := 0
	last := ""
	for {
		if err := ctx.Err(); err != nil {
			return ConsoleHostKeys{}, fmt.Errorf("reading the console of instance %s for its SSH host keys: %w", id, err)
		}
		out, err := api.GetConsoleOutput(ctx, id)
		reads++
		var seen notYet
		switch {
		case err != nil && ctx.Err() != nil:
			return ConsoleHostKeys{}, fmt.Errorf("reading the console of instance %s for its SSH host keys: %w", id, ctx.Err())
		case err != nil && !retry.Transient(err) && apiCode(err) != codeNotFound:
			return ConsoleHostKeys{}, fmt.Errorf("reading the console of instance %s for its SSH host keys: %w%s; %s", id, err, permissionHint(err), consoleKeyVarHint)
		case err != nil:
			seen = notYet{"unreadable " + apiCode(err), "its console could not be read: " + err.Error()}
		default:
			keys, s, perr := parseConsole(out.Output)
			if perr != nil {
				return ConsoleHostKeys{}, fmt.Errorf("instance %s: %w: %w; %s", id, ErrBadConsoleHostKeys, perr, consoleKeyVarHint)
			}
			if s == nil {
				log(fmt.Sprintf("e2c: instance %s printed its SSH host keys on its console: pinning %s %s (%s)", id,
					keys.Preferred().Type(), ssh.FingerprintSHA256(keys.Preferred()), checkedText(keys)))
				return keys, nil
			}
			seen = notYet{s.state, fmt.Sprintf("its console (%d bytes%s) shows %s", len(out.Output), updatedText(out.Timestamp), s.text)}
		}
		if seen.state != last {
			log(fmt.Sprintf("e2c: no SSH host keys on the console of instance %s yet: %s", id, seen.text))
			last = seen.state
		}
		if !time.Now().Add(poll).Before(deadline) {
			return ConsoleHostKeys{}, fmt.Errorf("%w: instance %s printed none in %s (%d reads); the last read: %s; %s",
				ErrNoConsoleHostKeys, id, time.Since(start).Round(time.Millisecond), reads, seen.text, consoleKeysPrintHint)
		}
		if err := sleep(ctx, poll); err != nil {
			return ConsoleHostKeys{}, fmt.Errorf("reading the console of instance %s for its SSH host keys: %w", id, err)
		}
	}
}

// permissionHint names the permission the call needs when AWS refused it.
func permissionHint(err error) string {
	if c := apiCode(err); c == "UnauthorizedOperation" || strings.HasPrefix(c, "AccessDenied") {
		return " (allow ec2:GetConsoleOutput on the instance to the builder's AWS identity)"
	}
	return ""
}

func checkedText(k ConsoleHostKeys) string {
	s := "no fingerprints printed to check it against"
	if k.Checked {
		s = "its printed fingerprint matches"
	}
	if len(k.Keys) > 1 {
		var others []string
		for i, key := range k.Keys {
			if i != k.preferred() {
				others = append(others, key.Type())
			}
		}
		s += "; also printed: " + strings.Join(others, ", ")
	}
	return s
}

func updatedText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ", updated " + t.UTC().Format(time.RFC3339)
}

// PinConsoleHostKey is setup's step for a builder whose host key is not given (PinFromConsole):
// once instance st.InstanceID runs, before any SSH connection, it reads the host keys the
// instance printed on its console (WaitConsoleHostKeys, for at most the ready timeout) and
// returns st with the preferred one as its SSH host key, the one every connection of the job
// pins (the state file carries it to the later phases, which never read the console again).
// Any error is final: the caller fails setup and tears the instance down, and no connection is
// made to a key that was not read.
func (b Builder) PinConsoleHostKey(ctx context.Context, api ConsoleReader, st State, log func(string)) (State, error) {
	if st.InstanceID == "" {
		return st, errors.New("pinning the builder's host key from its console: no instance")
	}
	keys, err := WaitConsoleHostKeys(ctx, api, st.InstanceID, b.Config.ReadyWait(), b.Config.pollInterval(), log)
	if err != nil {
		return st, fmt.Errorf("ARM builder %s: its SSH host key could not be pinned from its console, so it is not connected to: %w", st.InstanceID, err)
	}
	st.SSHHostKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(keys.Preferred())))
	return st, nil
}
