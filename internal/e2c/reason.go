package e2c

import (
	"regexp"
	"strings"
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
