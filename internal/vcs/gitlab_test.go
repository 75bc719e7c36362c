package vcs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/tagtype"
)

const jobToken = "glcbt-64_SecretJobToken123"

// fakeGitLab serves GitLab's "Get a single repository tag" endpoint,
// GET /api/v4/projects/:id/repository/tags/:tag_name, from testdata fixtures.
type fakeGitLab struct {
	t        *testing.T
	mu       sync.Mutex
	requests []seen
	paths    []string // as sent, still escaped
}

// seen is what the fake recorded about one request.
type seen struct {
	Project, Tag string // decoded path segments
	JobToken     string
	OtherAuth    string
}

// tags per project id; both the numeric id and the full path name the same project.
var fakeTags = map[string]string{
	"1.0.0":         "tag_annotated.json",
	"release/1.0.0": "tag_annotated.json",
	"1.1.0alpha":    "tag_lightweight.json",
	"1.2.0":         "tag_lightweight_null_message.json",
}

func (f *fakeGitLab) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, seen{r.PathValue("id"), r.PathValue("tag"), r.Header.Get("JOB-TOKEN"), r.Header.Get("PRIVATE-TOKEN") + r.Header.Get("Authorization")})
	f.paths = append(f.paths, r.URL.EscapedPath())
	f.mu.Unlock()
	if r.Header.Get("JOB-TOKEN") != jobToken {
		f.reply(w, http.StatusUnauthorized, "error_401.json")
		return
	}
	switch r.PathValue("id") {
	case "42", "group/sub/shipyard":
	case "7":
		f.reply(w, http.StatusForbidden, "error_403.json")
		return
	case "13":
		f.reply(w, http.StatusInternalServerError, "error_500.json")
		return
	default:
		f.reply(w, http.StatusNotFound, "error_404_project.json")
		return
	}
	fixture, ok := fakeTags[r.PathValue("tag")]
	if !ok {
		f.reply(w, http.StatusNotFound, "error_404_tag.json")
		return
	}
	f.reply(w, http.StatusOK, fixture)
}

func (f *fakeGitLab) reply(w http.ResponseWriter, code int, fixture string) {
	body, err := os.ReadFile(filepath.Join("testdata", fixture))
	if err != nil {
		f.t.Errorf("fixture: %v", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func newFakeGitLab(t *testing.T) (*fakeGitLab, *httptest.Server) {
	f := &fakeGitLab{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/projects/{id}/repository/tags/{tag}", f.serve)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL.EscapedPath())
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func TestDetectGitLab(t *testing.T) {
	fake, srv := newFakeGitLab(t)
	tests := []struct {
		name, project, token, tag string
		wantGitLab                string
		want                      tagtype.Type
		wantBy                    string
	}{
		{"annotated by numeric id", "42", jobToken, "1.0.0",
			"tag 1.0.0 has a message: annotated", tagtype.Annotated, tagtype.SourceGitLab},
		{"annotated by project path", "group/sub/shipyard", jobToken, "1.0.0",
			"tag 1.0.0 has a message: annotated", tagtype.Annotated, tagtype.SourceGitLab},
		{"tag name with a slash", "group/sub/shipyard", jobToken, "release/1.0.0",
			"tag release/1.0.0 has a message: annotated", tagtype.Annotated, tagtype.SourceGitLab},
		{"lightweight with empty message", "42", jobToken, "1.1.0alpha",
			"tag 1.1.0alpha has no message: lightweight", tagtype.Lightweight, tagtype.SourceGitLab},
		{"lightweight with null message and an annotated-looking name", "42", jobToken, "1.2.0",
			"tag 1.2.0 has no message: lightweight", tagtype.Lightweight, tagtype.SourceGitLab},
		{"401 wrong token", "42", "not-the-" + jobToken, "1.0.0",
			"HTTP 401 Unauthorized: the job token was refused: no answer", tagtype.Annotated, tagtype.SourceHeuristic},
		{"403 token not allowed", "7", jobToken, "1.0.0",
			"HTTP 403 Forbidden: the job token may not read this project's tags; allow it in the project's CI/CD job token settings: no answer", tagtype.Annotated, tagtype.SourceHeuristic},
		{"404 unknown tag", "42", jobToken, "1.0.0rc1",
			"HTTP 404 Not Found: project 42 or tag 1.0.0rc1 not found, or hidden from the job token: no answer", tagtype.Lightweight, tagtype.SourceHeuristic},
		{"404 unknown project", "group/other", jobToken, "1.0.0",
			"HTTP 404 Not Found: project group/other or tag 1.0.0 not found, or hidden from the job token: no answer", tagtype.Annotated, tagtype.SourceHeuristic},
		{"500", "13", jobToken, "1.0.0",
			"HTTP 500 Internal Server Error: GitLab failed: no answer", tagtype.Annotated, tagtype.SourceHeuristic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.mu.Lock()
			fake.requests, fake.paths = nil, nil
			fake.mu.Unlock()
			src := &GitLabTags{BaseURL: srv.URL, ProjectID: tt.project, Token: staticToken(tt.token), HTTPClient: srv.Client()}
			got, err := tagtype.Detect(context.Background(), tt.tag, "", Chain(Repo{}, "", src)...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{string(tt.want), tt.wantBy}, []string{string(got.Type), got.DecidedBy}); diff != "" {
				t.Errorf("type and source (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tagtype.Step{Source: tagtype.SourceGitLab, Outcome: tt.wantGitLab}, got.Trail[3]); diff != "" {
				t.Errorf("gitlab step (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]seen{{tt.project, tt.tag, tt.token, ""}}, fake.requests); diff != "" {
				t.Errorf("requests received: one GET with the JOB-TOKEN header and no other credentials (-want +got):\n%s", diff)
			}
			// Path ids and tag names are single URL-encoded segments, as the API requires.
			wantPrefix := "/api/v4/projects/" + url.PathEscape(tt.project) + "/repository/tags/"
			if len(fake.paths) != 1 || !strings.HasPrefix(fake.paths[0], wantPrefix) || strings.Contains(strings.TrimPrefix(fake.paths[0], wantPrefix), "/") {
				t.Errorf("request paths %q, want one starting %q with the tag as one segment", fake.paths, wantPrefix)
			}
			assertNoToken(t, tt.token, got, err)
		})
	}
}

func TestDetectGitLabUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	src := &GitLabTags{BaseURL: addr, ProjectID: "42", Token: staticToken(jobToken)}
	got, err := tagtype.Detect(context.Background(), "1.0.0", "", Chain(Repo{}, "", src)...)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{string(tagtype.Annotated), tagtype.SourceHeuristic}, []string{string(got.Type), got.DecidedBy}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if step := got.Trail[3]; step.Source != tagtype.SourceGitLab || !strings.HasPrefix(step.Outcome, "unreachable (") || !strings.HasSuffix(step.Outcome, "): no answer") {
		t.Errorf("gitlab step = %+v", step)
	}
	assertNoToken(t, jobToken, got, err)
}

func TestDetectGitLabRedactsEchoedToken(t *testing.T) {
	// A broken base URL with the token pasted into it: the outcome quotes the URL, minus the token.
	src := &GitLabTags{BaseURL: "http://127.0.0.1:1/%zz" + jobToken, ProjectID: "42", Token: staticToken(jobToken)}
	got, err := tagtype.Detect(context.Background(), "1.0.0", "", Chain(Repo{}, "", src)...)
	if err != nil {
		t.Fatal(err)
	}
	want := `skipped: CI_SERVER_URL "http://127.0.0.1:1/%zz[redacted]" is not an http(s) URL`
	if diff := cmp.Diff(want, got.Trail[3].Outcome); diff != "" {
		t.Errorf("gitlab step (-want +got):\n%s", diff)
	}
	assertNoToken(t, jobToken, got, err)
}

func TestDetectGitLabSkipped(t *testing.T) {
	tests := []struct {
		src  *GitLabTags
		want string
	}{
		{&GitLabTags{ProjectID: "42", Token: staticToken(jobToken)}, "skipped: no server URL (CI_SERVER_URL)"},
		{&GitLabTags{BaseURL: "http://127.0.0.1:1", Token: staticToken(jobToken)}, "skipped: no project id (CI_PROJECT_ID)"},
		{&GitLabTags{BaseURL: "http://127.0.0.1:1", ProjectID: "42"}, "skipped: no job token (CI_JOB_TOKEN)"},
		{&GitLabTags{BaseURL: "http://127.0.0.1:1", ProjectID: "42", Token: staticToken("")}, "skipped: no job token (CI_JOB_TOKEN)"},
		{nil, "skipped: no GitLab API configured"},
	}
	for _, tt := range tests {
		got, err := tagtype.Detect(context.Background(), "1.0.0", "", Chain(Repo{}, "", tt.src)...)
		if err != nil {
			t.Fatal(err)
		}
		want := tagtype.Result{Type: tagtype.Annotated, DecidedBy: tagtype.SourceHeuristic, Trail: []tagtype.Step{
			{Source: tagtype.SourceOverride, Outcome: "not set"},
			{Source: tagtype.SourceGit, Outcome: "skipped: no checkout given"},
			{Source: tagtype.SourceTagMessage, Outcome: "CI_COMMIT_TAG_MESSAGE is empty: no answer (unset and lightweight look the same)"},
			{Source: tagtype.SourceGitLab, Outcome: tt.want},
			{Source: tagtype.SourceHeuristic, Outcome: heuristicAnnotated},
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}

// The job token is read only when the chain reaches GitLab: an earlier answer
// never touches the secret, and a token that cannot be read costs that step,
// not the release.
func TestGitLabTokenIsReadLazily(t *testing.T) {
	fake, srv := newFakeGitLab(t)
	repo, _ := repoWithTags(t)
	gitDir := filepath.Join(repo, ".git")
	var reads int
	var tokenErr error
	src := &GitLabTags{BaseURL: srv.URL, ProjectID: "42", HTTPClient: srv.Client(),
		Token: func(ctx context.Context) (string, error) {
			reads++
			if tokenErr != nil {
				return "", tokenErr
			}
			return jobToken, nil
		}}
	tests := []struct {
		name      string
		override  string
		git       Repo
		message   string
		tokenErr  error
		wantBy    string
		wantReads int
		wantStep  string // the GitLab step's outcome, "" when the chain stopped before it
	}{
		{"override answered", "lightweight", Repo{gitDir}, "", nil, tagtype.SourceOverride, 0, ""},
		{"git answered", "", Repo{gitDir}, "", nil, tagtype.SourceGit, 0, ""},
		{"tag message answered", "", Repo{}, "Release 1.0.0", nil, tagtype.SourceTagMessage, 0, ""},
		{"chain reaches GitLab", "", Repo{t.TempDir()}, "", nil, tagtype.SourceGitLab, 1,
			"tag 1.0.0 has a message: annotated"},
		{"token unreadable", "", Repo{t.TempDir()}, "", errors.New("secret store unavailable"), tagtype.SourceHeuristic, 1,
			"could not read the job token (secret store unavailable): no answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reads, tokenErr = 0, tt.tokenErr
			fake.mu.Lock()
			fake.requests, fake.paths = nil, nil
			fake.mu.Unlock()
			got, err := tagtype.Detect(context.Background(), "1.0.0", tt.override, Chain(tt.git, tt.message, src)...)
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if got.DecidedBy != tt.wantBy || reads != tt.wantReads {
				t.Errorf("decided by %s after %d token reads, want %s after %d; trail %+v", got.DecidedBy, reads, tt.wantBy, tt.wantReads, got.Trail)
			}
			var step string
			for _, s := range got.Trail {
				if s.Source == tagtype.SourceGitLab {
					step = s.Outcome
				}
			}
			if diff := cmp.Diff(tt.wantStep, step); diff != "" {
				t.Errorf("gitlab step (-want +got):\n%s", diff)
			}
			// only a step that read its token asks the API
			wantRequests := 0
			if tt.wantBy == tagtype.SourceGitLab {
				wantRequests = 1
			}
			if len(fake.requests) != wantRequests {
				t.Errorf("%d requests to GitLab, want %d", len(fake.requests), wantRequests)
			}
		})
	}
}

// staticToken is a Token func that returns tok.
func staticToken(tok string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return tok, nil }
}

func assertNoToken(t *testing.T, token string, r tagtype.Result, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), token) {
		t.Errorf("error contains the token: %v", err)
	}
	for _, s := range r.Trail {
		if strings.Contains(s.Outcome, token) || strings.Contains(s.Outcome, jobToken) {
			t.Errorf("trail step contains the token: %+v", s)
		}
	}
}
