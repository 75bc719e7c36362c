package tagtype

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// fromGit asks the checkout for the object type behind refs/tags/<tag>; ok is
// false when git cannot say (ref missing in a shallow clone, no git, not a
// repository), in which case outcome explains why and nothing is guessed.
func fromGit(ctx context.Context, dir, tag string) (t Type, outcome string, ok bool) {
	ref := "refs/tags/" + tag
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "cat-file", "-t", ref)
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
