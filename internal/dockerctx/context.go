package dockerctx

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Sentinel errors; every error Rewrite returns wraps exactly one of them (test with errors.Is).
var (
	// ErrInvalidContext means a Context passed to Rewrite is malformed: a name that is not a
	// valid stage name, a duplicate name, an unknown Kind, or a bad image reference or path.
	ErrInvalidContext = errors.New("invalid named context")
	// ErrUnsupported means the Dockerfile uses a named context in a way that rewriting the
	// Dockerfile text cannot reproduce.
	ErrUnsupported = errors.New("named context cannot be emulated")
)

// Kind says what a named context is made of.
type Kind int

const (
	// Image is a context that is a container image, given by reference (bake's "docker-image://REF").
	Image Kind = iota + 1
	// Dir is a directory the caller merges into the build context: a local path context, or a
	// "target:" context that the caller materialises as the built target's root filesystem.
	Dir
)

// String returns the kind's name for messages.
func (k Kind) String() string {
	switch k {
	case Image:
		return "Image"
	case Dir:
		return "Dir"
	default:
		return fmt.Sprintf("Kind(%d)", int(k))
	}
}

// Context is one named build context to emulate (buildx --build-context NAME=..., bake contexts = { NAME = "..." }).
type Context struct {
	// Name is the context name; it must be a valid Dockerfile stage name and is matched case-insensitively.
	Name string
	// Kind says whether the context is an image or a directory.
	Kind Kind
	// Image is the image reference, for Kind Image.
	Image string
	// Path is, for Kind Dir, the slash-separated path inside the build context where the caller
	// puts the context's files, such as ".shipyard-contexts/frontend".
	Path string
}

var (
	// reStageName is BuildKit's rule for stage names, applied to the lower-cased name.
	reStageName = regexp.MustCompile(`^[a-z][a-z0-9\-_.]*$`)
	// reImageRef is the set of characters an image reference may use (host[:port]/path[:tag][@digest]).
	reImageRef = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@-]*$`)
	// reDirPath limits Dir paths to characters that need no quoting in any Dockerfile form.
	reDirPath = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._/-]*$`)
)

// indexContexts validates the contexts and returns them keyed by lower-cased name.
func indexContexts(contexts []Context) (map[string]Context, error) {
	byName := make(map[string]Context, len(contexts))
	for _, c := range contexts {
		key := strings.ToLower(c.Name)
		if !reStageName.MatchString(key) {
			return nil, fmt.Errorf("context %q: %w: not a valid stage name (a letter, then letters, digits, '-', '_' or '.'); rename it in the bake file", c.Name, ErrInvalidContext)
		}
		if prev, dup := byName[key]; dup {
			return nil, fmt.Errorf("context %q: %w: same name as context %q (names are case-insensitive); keep one of them", c.Name, ErrInvalidContext, prev.Name)
		}
		switch c.Kind {
		case Image:
			if !reImageRef.MatchString(c.Image) {
				return nil, fmt.Errorf("context %q: %w: image reference %q is empty or has characters an image reference cannot have; pass a reference like 127.0.0.1:5000/app:tag", c.Name, ErrInvalidContext, c.Image)
			}
		case Dir:
			p := c.Path
			if !reDirPath.MatchString(p) || path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../") {
				return nil, fmt.Errorf("context %q: %w: path %q must be a clean relative path inside the build context, made of letters, digits, '.', '_', '-' and '/', such as .shipyard-contexts/%s", c.Name, ErrInvalidContext, p, key)
			}
		default:
			return nil, fmt.Errorf("context %q: %w: kind %v; use dockerctx.Image or dockerctx.Dir", c.Name, ErrInvalidContext, c.Kind)
		}
		byName[key] = c
	}
	return byName, nil
}
