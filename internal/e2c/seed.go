package e2c

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"shipyard/internal/secrettext"
)

// StrategyQEMUFallback is the state of a job whose builder could not be launched for lack of
// capacity: its ARM images are built under QEMU instead, and there is no instance to tear down.
const StrategyQEMUFallback = "qemu-fallback"

// The state file's keys, in the seed's KEY=VALUE form (extra keys are ours).
const (
	keyInstanceID = "TARGET_INSTANCE_ID"
	keyPublicIP   = "E2C_PUBLIC_IP"
	keyStrategy   = "E2C_INSTANCE_STRATEGY"
	keyRegion     = "E2C_REGION"
	keyJobID      = "CI_JOB_ID"
	keySpot       = "E2C_SPOT"
	keyLaunchedAt = "E2C_LAUNCHED_AT"
	// the job's generated keys: the host key to pin, and the client key base64-encoded as the
	// seed keeps E2C_SSH_PRIVATE_KEY
	keySSHHostKey    = "E2C_SSH_HOST_KEY"
	keySSHPrivateKey = "E2C_SSH_PRIVATE_KEY"
	keyRuns32BitARM  = "E2C_BUILDER_RUNS_32BIT"
)

// FormatState renders s in the seed's state file form: KEY=VALUE lines. When the module generated
// the job's keys it holds the client's private key (E2C_SSH_PRIVATE_KEY, base64): write it with
// mode 0600.
func FormatState(s State) string { return StateText(s).String() }

// StateText is FormatState's text by parts: the value of E2C_SSH_PRIVATE_KEY (the client's
// private key, base64) is its one secret part, so that a file made from it never carries the key
// in a call's arguments (secrettext).
func StateText(s State) secrettext.Text {
	var t secrettext.Text
	kv := func(k, v string) { t = append(t, secrettext.Plain(k+"="+v+"\n")) }
	kv(keyInstanceID, s.InstanceID)
	kv(keyPublicIP, s.PublicIP)
	kv(keyStrategy, s.Strategy)
	kv(keyRegion, s.Region)
	kv(keyJobID, s.JobID)
	kv(keySpot, strconv.FormatBool(s.Spot))
	if !s.LaunchedAt.IsZero() {
		kv(keyLaunchedAt, s.LaunchedAt.UTC().Format(time.RFC3339Nano))
	}
	if s.SSHHostKey != "" {
		kv(keySSHHostKey, strings.TrimSpace(s.SSHHostKey))
	}
	if s.SSHPrivateKey != "" {
		t = append(t, secrettext.Plain(keySSHPrivateKey+"="),
			secrettext.Secret(base64.StdEncoding.EncodeToString([]byte(s.SSHPrivateKey))), secrettext.Plain("\n"))
	}
	if s.Runs32BitARM != nil {
		kv(keyRuns32BitARM, strconv.FormatBool(*s.Runs32BitARM))
	}
	return t.Compact()
}

// ParseState reads a state file in the seed's KEY=VALUE form (unknown keys are ignored) or in
// the JSON form earlier versions wrote. A state without an instance id is valid only as a QEMU
// fallback. It reads only what FormatState writes back as it was read: values lose the spaces
// and quotes around them, and a value holding a line break or another control character, an
// E2C_SSH_PRIVATE_KEY that is no private key, or a line too long to read is an error; a launch
// time that RFC 3339 cannot write in UTC counts as unknown, as an unreadable one does.
func ParseState(data []byte) (State, error) {
	var s State
	trimmed := bytes.TrimSpace(data)
	if bytes.HasPrefix(trimmed, []byte("{")) {
		if err := json.Unmarshal(trimmed, &s); err != nil {
			return State{}, err
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				// by its number alone: a line that is no KEY=VALUE may be a line of a raw key
				return State{}, fmt.Errorf("line %d is not KEY=VALUE", n)
			}
			v = trimValue(v)
			switch strings.TrimPrefix(strings.TrimSpace(k), "export ") {
			case keyInstanceID:
				s.InstanceID = v
			case keyPublicIP:
				s.PublicIP = v
			case keyStrategy:
				s.Strategy = v
			case keyRegion:
				s.Region = v
			case keyJobID:
				s.JobID = v
			case keySpot:
				s.Spot = v == "true"
			case keyLaunchedAt:
				if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
					s.LaunchedAt = t
				}
			case keySSHHostKey:
				s.SSHHostKey = v
			case keySSHPrivateKey:
				// FormatState writes the key base64-encoded: anything that does not decode to a
				// key would be written as another value than the one read
				if s.SSHPrivateKey = DecodePrivateKey(v); v != "" && !strings.Contains(s.SSHPrivateKey, pemBegin) {
					return State{}, fmt.Errorf("%s holds neither a private key (%s…) nor one base64-encoded", keySSHPrivateKey, pemBegin)
				}
			case keyRuns32BitARM:
				if b, err := strconv.ParseBool(v); err == nil {
					s.Runs32BitARM = &b
				}
			}
		}
		if err := sc.Err(); err != nil {
			return State{}, fmt.Errorf("reading the KEY=VALUE lines: %w", err)
		}
	}
	// FormatState writes each value as it is on one line, and the KEY=VALUE form trims spaces and
	// quotes: a value must be trimmed (the JSON form's too) and hold no line break or other
	// control character to be written as the value that was read
	for _, f := range []struct {
		key string
		v   *string
	}{{keyInstanceID, &s.InstanceID}, {keyPublicIP, &s.PublicIP}, {keyStrategy, &s.Strategy},
		{keyRegion, &s.Region}, {keyJobID, &s.JobID}, {keySSHHostKey, &s.SSHHostKey}} {
		*f.v = trimValue(*f.v)
		if i := strings.IndexFunc(*f.v, unicode.IsControl); i >= 0 {
			return State{}, fmt.Errorf("%s holds the control character %q: a state file has one KEY=VALUE a line", f.key, []rune((*f.v)[i:])[0])
		}
	}
	// FormatState writes the launch time in UTC as RFC 3339, which has years 0000-9999 only: a
	// time it cannot write back is unknown, as an unreadable one is
	if y := s.LaunchedAt.UTC().Year(); y < 0 || y > 9999 {
		s.LaunchedAt = time.Time{}
	}
	if s.InstanceID == "" && s.Strategy != StrategyQEMUFallback {
		return State{}, fmt.Errorf("no %s", keyInstanceID)
	}
	return s, nil
}

// trimValue removes the spaces and the quotes around a state file's value, as the seed's shell
// would (KEY="VALUE", KEY='VALUE').
func trimValue(v string) string {
	return strings.TrimFunc(v, func(r rune) bool { return unicode.IsSpace(r) || r == '"' || r == '\'' })
}

// pemBegin starts every PEM block, an OpenSSH private key among them.
const pemBegin = "-----BEGIN"

// DecodePrivateKey accepts an SSH private key as it is or base64-encoded (the seed stores
// E2C_SSH_PRIVATE_KEY base64-encoded).
func DecodePrivateKey(s string) string {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, pemBegin) {
		return t + "\n"
	}
	if b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(t), "")); err == nil && bytes.Contains(b, []byte(pemBegin)) {
		return string(b)
	}
	return s
}
