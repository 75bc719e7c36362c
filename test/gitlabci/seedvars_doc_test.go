//go:build full

package gitlabci_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/e2c"
)

// docs/gitlab-ci.md lists every variable of the document, in its order, each row rendered from
// SeedVariables: what reads it (its flag, or the state file) and what it does now, which says
// when it is a state file key and when it is ignored with a WARNING.
func TestSeedVariablesDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "gitlab-ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	const heading = "## The old pipeline's variables\n"
	i := strings.Index(doc, heading)
	if i < 0 {
		t.Fatalf("docs/gitlab-ci.md has no %q section", strings.TrimSpace(heading))
	}
	section := doc[i+len(heading):]
	if j := strings.Index(section, "\n## "); j >= 0 {
		section = section[:j]
	}
	var rows []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| `") {
			rows = append(rows, line)
		}
	}
	var want []string
	for _, v := range e2c.SeedVariables {
		readBy := "the state file"
		if v.Flag != "" {
			readBy = "`" + v.Flag + "`"
		}
		want = append(want, "| `"+v.Name+"` | "+readBy+" | "+v.Now+" |")
		if v.StateKey && v.Flag != "" && !strings.Contains(v.Now, "state file") { // else readBy says it
			t.Errorf("%s: Now does not say it is a state file key: %s", v.Name, v.Now)
		}
		if v.Warning != "" && !strings.Contains(v.Now, "WARNING") {
			t.Errorf("%s: Now does not say when it is ignored with a WARNING: %s", v.Name, v.Now)
		}
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("docs/gitlab-ci.md's %q rows differ from SeedVariables (-want +docs):\n%s", strings.TrimSpace(heading), d)
	}
}
