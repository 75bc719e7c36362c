package attest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/attest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	commit     = "0123456789abcdef0123456789abcdef01234567"
	digestA    = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB    = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	digestBase = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	digestPy   = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
)

func build() attest.Build {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	return attest.Build{
		Image:         "127.0.0.1:5000/shipyard/app-django",
		Digest:        digestA,
		Module:        "git+https://gitlab.example/group/shipyard@1.0.0",
		ModuleVersion: "1.0.0",
		EngineVersion: "v0.19.10",
		Repository:    "git+https://gitlab.example/group/app",
		Revision:      commit,
		Target:        "django",
		Platform:      "linux/arm64",
		BuildArgs:     map[string]string{"PYTHON_VERSION": "3.11", "APP_ENV": "production"},
		BaseImages: []attest.BaseImage{
			{Ref: "python:3.11-slim", Digest: digestPy},
			{Ref: "debian:bookworm-slim", Digest: digestBase},
			{Ref: "127.0.0.1:5000/base/tools@" + digestB, Digest: digestB},
		},
		InvocationID: "https://gitlab.example/group/app/-/jobs/42",
		StartedOn:    start,
		FinishedOn:   start.Add(3*time.Minute + 500*time.Millisecond),
	}
}

// TestProvenanceStatementGolden pins the whole statement; run with -update
// to rewrite testdata/provenance.golden.json after an intended change.
func TestProvenanceStatementGolden(t *testing.T) {
	got, err := attest.ProvenanceStatement(build())
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	const golden = "testdata/provenance.golden.json"
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(string(readFile(t, golden)), pretty.String()); diff != "" {
		t.Errorf("provenance (-want +got):\n%s", diff)
	}
}

// TestProvenanceStatementDeterministic: the same build in another order
// (base images, map insertion) and another time zone gives the same bytes.
func TestProvenanceStatementDeterministic(t *testing.T) {
	want, err := attest.ProvenanceStatement(build())
	if err != nil {
		t.Fatal(err)
	}
	b := build()
	b.BaseImages = append([]attest.BaseImage{b.BaseImages[2], b.BaseImages[0], b.BaseImages[1]}, b.BaseImages[0])
	b.BuildArgs = map[string]string{"APP_ENV": "production", "PYTHON_VERSION": "3.11"}
	b.StartedOn, b.FinishedOn = b.StartedOn.UTC(), b.FinishedOn.UTC()
	for range 20 {
		got, err := attest.ProvenanceStatement(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("same build, other bytes:\n%s\n%s", got, want)
		}
	}
}

func TestProvenanceStatementRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*attest.Build)
		says   string
	}{
		{"no image", func(b *attest.Build) { b.Image = "" }, "Image is empty"},
		{"no engine version", func(b *attest.Build) { b.EngineVersion = "" }, "EngineVersion is empty"},
		{"branch as revision", func(b *attest.Build) { b.Revision = "main" }, "not a full commit id"},
		{"short commit", func(b *attest.Build) { b.Revision = commit[:12] }, "not a full commit id"},
		{"tag as digest", func(b *attest.Build) { b.Digest = "latest" }, "Digest of django [linux/arm64]"},
		{"unresolved base image", func(b *attest.Build) { b.BaseImages[0].Digest = "" }, `base image "python:3.11-slim" of django has no resolved digest`},
		{"image with a tag", func(b *attest.Build) { b.Image += ":1.0" }, `Image of django [linux/arm64]: bad image reference "127.0.0.1:5000/shipyard/app-django:1.0": a repository is named without tag`},
		{"base image no reference", func(b *attest.Build) { b.BaseImages[1].Ref = "Debian:$VERSION" }, `base image of django: bad image reference "Debian:$VERSION"`},
		{"no start", func(b *attest.Build) { b.StartedOn = time.Time{} }, "must have a start time"},
		{"finished before start", func(b *attest.Build) { b.FinishedOn = b.StartedOn.Add(-time.Second) }, "finish after it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := build()
			tc.change(&b)
			_, err := attest.ProvenanceStatement(b)
			if !errors.Is(err, attest.ErrBadBuild) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("ProvenanceStatement = %v, want ErrBadBuild saying %q", err, tc.says)
			}
		})
	}
}

// TestSourceOf reads back what ProvenanceStatement wrote, and refuses
// other predicates and inconsistent statements.
func TestSourceOf(t *testing.T) {
	raw, err := attest.ProvenanceStatement(build())
	if err != nil {
		t.Fatal(err)
	}
	st, err := attest.ParseStatement(raw, digestA)
	if err != nil {
		t.Fatal(err)
	}
	src, err := attest.SourceOf(st)
	if err != nil {
		t.Fatal(err)
	}
	if want := (attest.Source{Repository: "git+https://gitlab.example/group/app", Revision: commit}); src != want {
		t.Errorf("SourceOf = %+v, want %+v", src, want)
	}
	if _, err := attest.ParseStatement(raw, digestB); err == nil || !strings.Contains(err.Error(), "about another image") {
		t.Errorf("ParseStatement(other digest) = %v, want 'about another image'", err)
	}
	inconsistent := st
	inconsistent.Predicate = json.RawMessage(strings.Replace(string(st.Predicate), `"gitCommit":"`+commit, `"gitCommit":"`+strings.Repeat("f", 40), 1))
	if _, err := attest.SourceOf(inconsistent); err == nil || !strings.Contains(err.Error(), "inconsistent") {
		t.Errorf("SourceOf(inconsistent) = %v, want 'inconsistent'", err)
	}
	sbom := st
	sbom.PredicateType = attest.PredicateSPDX
	if _, err := attest.SourceOf(sbom); err == nil {
		t.Error("SourceOf(SPDX statement) succeeded")
	}
}

func TestSourceRepositoryAndInvocation(t *testing.T) {
	for _, tt := range []struct{ what, got, want string }{
		{"a source URL", attest.SourceRepository("https://gitlab.example/group/app.git", "app"), "git+https://gitlab.example/group/app.git"},
		{"no source URL", attest.SourceRepository("", "shop"), "urn:shipyard:project:shop"},
		{"a CI job", attest.GitLabInvocation("1234", "5678"), "gitlab:pipeline/1234/job/5678"},
		{"a pipeline without job id", attest.GitLabInvocation("1234", ""), "gitlab:pipeline/1234/job/"},
		{"outside CI", attest.GitLabInvocation("", ""), ""},
	} {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.what, diff)
		}
	}
}
