package vcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"shipyard/internal/tagtype"
)

// Repo is a git repository named by its git directory (the .git path itself, not the work
// tree); every question runs `git --git-dir GitDir …`, so no work tree is needed.
type Repo struct {
	// GitDir is the repository's git directory; "" is no repository: Lookup skips its step and
	// the other methods return ErrNoGitDir.
	GitDir string
}

// ErrNoGitDir is returned by Head, OriginURL and CommitTime when the Repo names no git directory.
var ErrNoGitDir = errors.New("no git directory given")

// ErrNoOrigin is returned by OriginURL when the repository has no origin remote URL.
var ErrNoOrigin = errors.New("no origin remote")

// gitError is a git command that ran and failed.
type gitError struct {
	// args are the command's arguments after --git-dir.
	args []string
	// code is git's exit status.
	code int
	// msg is the first line git wrote to stderr, else the exit status.
	msg string
}

// Error names the command and what git said.
func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: %s", strings.Join(e.args, " "), e.msg)
}

// git runs git with args on the repository and returns its standard output without surrounding
// space. A command that ran and failed is a *gitError; one that could not run (no git binary)
// is the error exec gives.
func (r Repo) git(ctx context.Context, args ...string) (string, error) {
	if r.GitDir == "" {
		return "", ErrNoGitDir
	}
	cmd := exec.CommandContext(ctx, "git", append([]string{"--git-dir", r.GitDir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return "", err
		}
		msg := firstLine(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", &gitError{args: args, code: exitErr.ExitCode(), msg: msg}
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Name is tagtype.SourceGit.
func (Repo) Name() string { return tagtype.SourceGit }

// Lookup asks the repository for the object type behind refs/tags/<tag> (`git cat-file -t`):
// a tag object is annotated, a commit lightweight. ok is false when git cannot say (ref missing
// in a shallow clone, no git, not a repository), in which case outcome explains why and nothing
// is guessed.
func (r Repo) Lookup(ctx context.Context, tag string) (t tagtype.Type, outcome string, ok bool) {
	if r.GitDir == "" {
		return "", "skipped: no checkout given", false
	}
	ref := "refs/tags/" + tag
	kind, err := r.git(ctx, "cat-file", "-t", ref)
	var failed *gitError
	switch {
	case errors.As(err, &failed):
		return "", fmt.Sprintf("%s not readable (%s): no answer (a shallow clone without tags looks like this)", ref, failed.msg), false
	case err != nil:
		return "", fmt.Sprintf("could not run git: %v: no answer", err), false
	case kind == "tag":
		return tagtype.Annotated, fmt.Sprintf("%s is a tag object: annotated", ref), true
	}
	return tagtype.Lightweight, fmt.Sprintf("%s is a %s: lightweight", ref, kind), true
}

// Head is the full hash of the commit HEAD points at.
func (r Repo) Head(ctx context.Context) (string, error) {
	return r.git(ctx, "rev-parse", "--verify", "HEAD^{commit}")
}

// OriginURL is the URL of the origin remote as the repository's own configuration holds it
// (remote.origin.url, no insteadOf rewriting); ErrNoOrigin when it has none or it is empty.
func (r Repo) OriginURL(ctx context.Context) (string, error) {
	url, err := r.git(ctx, "config", "--local", "--get", "remote.origin.url")
	var failed *gitError
	switch {
	case errors.As(err, &failed) && failed.code == 1: // git config --get exits 1 for a key that is not set
		return "", ErrNoOrigin
	case err != nil:
		return "", err
	case url == "":
		return "", ErrNoOrigin
	}
	return url, nil
}

// CommitTime is the committer time of rev ("" is HEAD), to the second, in UTC. rev is anything
// git names a commit by (a hash, a branch, a tag, HEAD~1) but never an option.
func (r Repo) CommitTime(ctx context.Context, rev string) (time.Time, error) {
	if rev == "" {
		rev = "HEAD"
	}
	if strings.HasPrefix(rev, "-") {
		return time.Time{}, fmt.Errorf("revision %q: a revision does not start with -", rev)
	}
	out, err := r.git(ctx, "show", "-s", "--format=%ct", rev+"^{commit}")
	if err != nil {
		return time.Time{}, err
	}
	secs, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("git show %s: commit time %q is not a number", rev, out)
	}
	return time.Unix(secs, 0).UTC(), nil
}

// firstLine is the first non-blank line of s, without surrounding space.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}
