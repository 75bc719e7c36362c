package e2c

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// sshWords mark the lines of a failed remote call that say why SSH failed.
var sshWords = []string{"ssh:", "connection refused", "connection timed out", "no route to host",
	"permission denied", "host key verification failed", "could not resolve"}

// ansi matches the terminal colour codes of the dagger CLI's progress output.
var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// SSHFailureReason keeps the last (at most three) distinct lines of a failed remote dagger call
// that say why SSH failed: dagger retries silently, and ssh's own words are the useful part. The
// CLI's colours and progress prefixes are dropped; where the CLI quotes ssh's stderr, only that
// is kept.
func SSHFailureReason(out string) string {
	var keep []string
	seen := map[string]bool{}
	for _, line := range strings.Split(ansi.ReplaceAllString(out, ""), "\n") {
		line = strings.TrimSpace(line)
		if _, after, ok := strings.Cut(line, "stderr="); ok {
			line = strings.TrimSpace(strings.TrimRight(strings.ReplaceAll(strings.ReplaceAll(after, `\r`, ""), `\n`, ""), `"`))
		}
		l := strings.ToLower(line)
		for _, w := range sshWords {
			if strings.Contains(l, w) && !seen[line] {
				seen[line] = true
				keep = append(keep, line)
				break
			}
		}
	}
	if len(keep) == 0 {
		return "no answer over SSH"
	}
	if len(keep) > 3 {
		keep = keep[len(keep)-3:]
	}
	return strings.Join(keep, "; ")
}

// RemoteVersionTimeout bounds the first question to the builder's engine, `dagger core version`
// over SSH, made before any ARM build. A fresh engine's first session (its SSH connection,
// session and core schema) takes a few seconds on a Graviton and about 30 on an emulated arm64
// machine; an unreachable one is told apart by ssh's own words long before this.
const RemoteVersionTimeout = 2 * time.Minute

// connected is the dagger CLI's log line once its engine answered (-vv): "INF connected name=…
// client-version=… server-version=…".
var connected = regexp.MustCompile(`INF\s+connected\b.*server-version=(\S+)`)

// RemoteVersionFailure says why `dagger core version` against the builder's engine failed, from
// the CLI's output: SSH's own reason when it never got through, or, once the engine had answered
// (the CLI logged "connected"), that the engine was reached but too slow to finish within limit.
func RemoteVersionFailure(out string, limit time.Duration) string {
	if m := connected.FindStringSubmatch(ansi.ReplaceAllString(out, "")); m != nil {
		return fmt.Sprintf("SSH and the engine's socket answered (engine %s), but `dagger core version` did not finish within %s: the builder is overloaded or its engine still starting", m[1], limit)
	}
	return SSHFailureReason(out)
}
