package tagtype

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// GitSource is a git checkout, asked with `git cat-file -t refs/tags/<tag>`.
type GitSource struct {
	// Dir is the checkout (its work tree or a directory holding its .git); "" skips the step.
	Dir string
}

// Name is SourceGit.
func (GitSource) Name() string { return SourceGit }

// Lookup asks the checkout for the object type behind refs/tags/<tag>: a tag
// object is annotated, a commit lightweight. ok is false when git cannot say
// (ref missing in a shallow clone, no git, not a repository), in which case
// outcome explains why and nothing is guessed.
func (g GitSource) Lookup(ctx context.Context, tag string) (t Type, outcome string, ok bool) {
	if g.Dir == "" {
		return "", "skipped: no checkout given", false
	}
	ref := "refs/tags/" + tag
	cmd := exec.CommandContext(ctx, "git", "-C", g.Dir, "cat-file", "-t", ref)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return "", fmt.Sprintf("could not run git: %v: no answer", err), false
		}
		msg := firstLine(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Sprintf("%s not readable (%s): no answer (a shallow clone without tags looks like this)", ref, msg), false
	}
	kind := strings.TrimSpace(stdout.String())
	if kind == "tag" {
		return Annotated, fmt.Sprintf("%s is a tag object: annotated", ref), true
	}
	return Lightweight, fmt.Sprintf("%s is a %s: lightweight", ref, kind), true
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}
