// Package imageref is the one parser of image references: "localhost:5000/a/b:tag",
// "[::1]:5000/x:y", "host/repo@sha256:…", "repo:tag@sha256:…", "postgres:16". go-containerregistry's
// name package decides the grammar; a Ref keeps the parts as they were written, so a reference
// printed or pushed again names the same registry and path it was given (no index.docker.io, no
// library/, no implicit tag). Pure: no I/O.
package imageref

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// DefaultTag is the tag a reference without tag or digest names, as docker pull reads it.
const DefaultTag = name.DefaultTag

// DockerHub is the registry of a reference that names no host, as docker reads it.
const DockerHub = "docker.io"

// ErrBadReference is returned for a string that is no image reference, or lacks or has a part
// the caller's form does not allow.
var ErrBadReference = errors.New("bad image reference")

// Ref is an image reference split into its parts, each as written.
type Ref struct {
	// Host is the registry host and port ("registry.test", "localhost:5000", "[::1]:5000"); ""
	// when the reference names none (Docker Hub's "postgres:16").
	Host string
	// Path is the repository under the host ("a/b").
	Path string
	// Tag is "" when the reference names none.
	Tag string
	// Digest ("sha256:…") is "" when the reference is not pinned.
	Digest string
}

// Parse splits s into its parts. A host is the first path segment when it is "localhost" or
// contains "." or ":" (as docker reads it); an IPv6 host is written in brackets.
func Parse(s string) (Ref, error) {
	if strings.Contains(s, "://") {
		return Ref{}, bad(s, "an image reference has no URL scheme: write it as host/repo:tag")
	}
	opts := []name.Option{name.WithDefaultRegistry(""), name.WithDefaultTag("")}
	parsed, err := name.ParseReference(s, opts...)
	if err != nil {
		if why := whyNot(s, opts); why != nil {
			err = why
		}
		return Ref{}, bad(s, err.Error())
	}
	var r Ref
	base := s
	if d, ok := parsed.(name.Digest); ok {
		r.Digest = d.DigestStr()
		base = strings.TrimSuffix(s, "@"+r.Digest)
	}
	// a digest reference forgets its tag: the part before "@" is read as a tag reference again
	tagged, err := name.NewTag(base, opts...)
	if err != nil {
		return Ref{}, bad(s, err.Error())
	}
	r.Tag = tagged.TagStr()
	// name rewrites docker.io to index.docker.io and adds library/ there: the parts are taken
	// from the text, split where name found the host
	repo := base
	if r.Tag != "" {
		repo = strings.TrimSuffix(base, ":"+r.Tag)
	}
	if tagged.RegistryStr() != "" {
		r.Host, r.Path, _ = strings.Cut(repo, "/")
	} else {
		r.Path = repo
	}
	if strings.Count(r.Host, ":") > 1 && !strings.HasPrefix(r.Host, "[") {
		return Ref{}, bad(s, fmt.Sprintf("the host %s is an IPv6 address without brackets: write it as [%s]", r.Host, r.Host))
	}
	if slices.Contains(strings.Split(r.Path, "/"), "") {
		return Ref{}, bad(s, fmt.Sprintf("the repository %q has an empty path segment", r.Path))
	}
	return r, nil
}

// ParseRepo parses a repository: a reference without tag and digest ("host/group/app").
func ParseRepo(s string) (Ref, error) {
	r, err := Parse(s)
	if err == nil && (r.Tag != "" || r.Digest != "") {
		err = bad(s, "a repository is named without tag or digest: write it as host/repo")
	}
	return r, err
}

// ParseTagged parses a reference to push to: a tag (TagOrDefault reads a missing one as
// DefaultTag) and no digest.
func ParseTagged(s string) (Ref, error) {
	r, err := Parse(s)
	if err == nil && r.Digest != "" {
		err = bad(s, "a reference to push to names a tag, not a digest: write it as host/repo:tag")
	}
	return r, err
}

// ParsePinned parses a reference pinned by digest ("host/repo@sha256:…", a tag may come before it).
func ParsePinned(s string) (Ref, error) {
	r, err := Parse(s)
	if err == nil && r.Digest == "" {
		err = bad(s, "the reference is not pinned by digest: write it as host/repo@sha256:…")
	}
	return r, err
}

// Repo is the repository as written: host/path, or the path alone when there is no host.
func (r Ref) Repo() string {
	if r.Host == "" {
		return r.Path
	}
	return r.Host + "/" + r.Path
}

// Registry is the host the image is pulled from and pushed to: Host, DockerHub when the
// reference names none.
func (r Ref) Registry() string {
	if r.Host == "" {
		return DockerHub
	}
	return r.Host
}

// String is the reference as written: repo[:tag][@digest].
func (r Ref) String() string {
	s := r.Repo()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// TagOrDefault is the tag, DefaultTag when the reference names none.
func (r Ref) TagOrDefault() string {
	if r.Tag == "" {
		return DefaultTag
	}
	return r.Tag
}

// WithTag is the reference to tag in r's repository (r's digest is dropped).
func (r Ref) WithTag(tag string) Ref {
	return Ref{Host: r.Host, Path: r.Path, Tag: tag}
}

// AtDigest is the reference pinned to digest in r's repository, without tag: what a registry
// serves by digest is the same whatever tag pointed at it.
func (r Ref) AtDigest(digest string) Ref {
	return Ref{Host: r.Host, Path: r.Path, Digest: digest}
}

// Pin is ref's repository at digest ("host/repo@sha256:…"): where a reference's image is read
// by digest once it has been pushed or resolved.
func Pin(ref, digest string) (string, error) {
	r, err := Parse(ref)
	if err != nil {
		return "", err
	}
	pinned, err := ParsePinned(r.AtDigest(digest).String())
	if err != nil {
		return "", err
	}
	return pinned.String(), nil
}

func bad(s, why string) error { return fmt.Errorf("%w %q: %s", ErrBadReference, s, why) }

// whyNot explains why name refused s: ParseReference says only "could not parse", the parser of
// the form s has (a digest after "@", else a tag) says what is wrong.
func whyNot(s string, opts []name.Option) error {
	if strings.Contains(s, "@") {
		_, err := name.NewDigest(s, opts...)
		return err
	}
	_, err := name.NewTag(s, opts...)
	return err
}
