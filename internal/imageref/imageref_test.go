package imageref

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sha = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Ref
	}{
		{"localhost:5000/a/b:tag", Ref{Host: "localhost:5000", Path: "a/b", Tag: "tag"}},
		{"localhost/a", Ref{Host: "localhost", Path: "a"}},
		{"127.0.0.1:5000/shipyard/django:1.0.0", Ref{Host: "127.0.0.1:5000", Path: "shipyard/django", Tag: "1.0.0"}},
		{"127.0.0.1:5000/shipyard/django", Ref{Host: "127.0.0.1:5000", Path: "shipyard/django"}},
		{"registry.test/a/b:v1.2.3-rc.1", Ref{Host: "registry.test", Path: "a/b", Tag: "v1.2.3-rc.1"}},
		{"[::1]:5000/x:y", Ref{Host: "[::1]:5000", Path: "x", Tag: "y"}},
		{"[::1]/x", Ref{Host: "[::1]", Path: "x"}},
		{"[fd00::7]:5000/g/x@" + sha, Ref{Host: "[fd00::7]:5000", Path: "g/x", Digest: sha}},
		{"registry.test/repo@" + sha, Ref{Host: "registry.test", Path: "repo", Digest: sha}},
		// a first segment without "." or ":" that is not localhost is no host: Docker Hub's path
		{"group/repo@" + sha, Ref{Path: "group/repo", Digest: sha}},
		{"host.test:5000/repo:tag@" + sha, Ref{Host: "host.test:5000", Path: "repo", Tag: "tag", Digest: sha}},
		{"repo:tag@" + sha, Ref{Path: "repo", Tag: "tag", Digest: sha}},
		{"postgres:16", Ref{Path: "postgres", Tag: "16"}},
		{"group/app", Ref{Path: "group/app"}},
		// docker reads "localhost:5000" alone as the image localhost, tag 5000
		{"localhost:5000", Ref{Path: "localhost", Tag: "5000"}},
		// as written: name would make these index.docker.io/library/alpine
		{"docker.io/alpine:3", Ref{Host: "docker.io", Path: "alpine", Tag: "3"}},
		{"docker.io/library/golang:1.26@" + sha, Ref{Host: "docker.io", Path: "library/golang", Tag: "1.26", Digest: sha}},
	} {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
		}
		if got.String() != tt.in {
			t.Errorf("Parse(%q).String() = %q, want it as written", tt.in, got.String())
		}
	}
}

func TestParseBad(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "a repository name must be specified"},
		{"Foo/bar", "repository can only contain"},
		{"localhost:5000/a/b:", "must specify a tag name after the colon"},
		{"registry.test/repo:t!g", "tag can only contain"},
		{"registry.test/repo@sha256:abc", "invalid checksum digest length"},
		{"registry.test/repo@latest", "invalid checksum digest format"},
		{"a@b@" + sha, "exactly one '@'"},
		{"http://host/repo:tag", "no URL scheme"},
		{"::1:5000/x:y", "write it as [::1:5000]"},
		{"host:5000/", "repository must be between 1 and 255 characters"},
		{"/x", `"/x" has an empty path segment`},
		{"registry.test/a//b", `"a//b" has an empty path segment`},
		{"[::1]:5000", "repository can only contain"},
	} {
		_, err := Parse(tt.in)
		if err == nil || !errors.Is(err, ErrBadReference) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want %v naming %q", tt.in, err, ErrBadReference, tt.want)
		}
	}
}

func TestForms(t *testing.T) {
	for _, tt := range []struct {
		parse   func(string) (Ref, error)
		form    string
		in, bad string // bad: what the error says, "" when in is of the form
	}{
		{ParseRepo, "repo", "registry.test/group/app", ""},
		{ParseRepo, "repo", "registry.test/group/app:1", "without tag or digest"},
		{ParseRepo, "repo", "registry.test/group/app@" + sha, "without tag or digest"},
		{ParseTagged, "tagged", "registry.test/app:1", ""},
		{ParseTagged, "tagged", "registry.test/app", ""},
		{ParseTagged, "tagged", "registry.test/app:1@" + sha, "not a digest"},
		{ParsePinned, "pinned", "registry.test/app@" + sha, ""},
		{ParsePinned, "pinned", "registry.test/app:1@" + sha, ""},
		{ParsePinned, "pinned", "registry.test/app:1", "not pinned"},
		{ParsePinned, "pinned", "registry.test/app@", "invalid checksum digest format"},
	} {
		_, err := tt.parse(tt.in)
		switch {
		case tt.bad == "" && err != nil:
			t.Errorf("%s %q: %v", tt.form, tt.in, err)
		case tt.bad != "" && (!errors.Is(err, ErrBadReference) || !strings.Contains(err.Error(), tt.bad)):
			t.Errorf("%s %q = %v, want %v naming %q", tt.form, tt.in, err, ErrBadReference, tt.bad)
		}
	}
}

func TestDerived(t *testing.T) {
	r := Ref{Host: "[::1]:5000", Path: "x/y", Tag: "1.0", Digest: sha}
	for _, tt := range []struct{ what, got, want string }{
		{"Repo", r.Repo(), "[::1]:5000/x/y"},
		{"Repo without host", Ref{Path: "postgres", Tag: "16"}.Repo(), "postgres"},
		{"Registry", r.Registry(), "[::1]:5000"},
		{"Registry without host", Ref{Path: "postgres", Tag: "16"}.Registry(), "docker.io"},
		{"TagOrDefault", r.TagOrDefault(), "1.0"},
		{"TagOrDefault without tag", Ref{Host: "h", Path: "x", Digest: sha}.TagOrDefault(), "latest"},
		{"WithTag", r.WithTag("1.0-arm64").String(), "[::1]:5000/x/y:1.0-arm64"},
		{"AtDigest", r.AtDigest(sha).String(), "[::1]:5000/x/y@" + sha},
	} {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.what, diff)
		}
	}
}

func TestPin(t *testing.T) {
	got, err := Pin("localhost:5000/a/b:1.0-amd64", sha)
	if diff := cmp.Diff("localhost:5000/a/b@"+sha, got); err != nil || diff != "" {
		t.Errorf("Pin: %v (-want +got):\n%s", err, diff)
	}
	if _, err := Pin("localhost:5000/A", sha); !errors.Is(err, ErrBadReference) {
		t.Errorf("Pin of a bad reference: %v, want %v", err, ErrBadReference)
	}
	if _, err := Pin("localhost:5000/a", "sha256:abc"); !errors.Is(err, ErrBadReference) {
		t.Errorf("Pin to a bad digest: %v, want %v", err, ErrBadReference)
	}
}
