package vcs

import "errors"

// Where is where a directory given for git data keeps the repository.
type Where int

const (
	// Nowhere: the directory holds no repository; nothing is read from git.
	Nowhere Where = iota
	// InDotGit: the directory is a checkout; the repository is its .git directory.
	InDotGit
	// Here: the directory is the repository itself (a .git directory, or a bare repository).
	Here
)

// ErrGitFile means the checkout's .git is a file pointing elsewhere (a worktree or a
// submodule), whose repository is not in the directory given.
var ErrGitFile = errors.New("the checkout's .git is a file (a git worktree or submodule), not the repository: pass --git-dir with the repository it points to, or a clone")

// Locate says where the repository of a directory given for git data is, from what the
// directory holds: a .git directory (a checkout), a .git file (a worktree or submodule), a HEAD
// file (the repository itself: a .git directory given directly, or a bare clone).
func Locate(dotGitDir, dotGitFile, head bool) (Where, error) {
	switch {
	case dotGitDir:
		return InDotGit, nil
	case dotGitFile:
		return Nowhere, ErrGitFile
	case head:
		return Here, nil
	}
	return Nowhere, nil
}
