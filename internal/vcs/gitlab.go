package vcs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"shipyard/internal/tagtype"
)

// GitLabTags is the project's GitLab tags API as a tagtype.Source, read with the CI job token.
// A nil *GitLabTags is a source that skips its step.
type GitLabTags struct {
	// BaseURL is the instance root (CI_SERVER_URL); the client adds /api/v4.
	BaseURL string
	// ProjectID is the numeric id or the "group/project" path (CI_PROJECT_ID or CI_PROJECT_PATH).
	ProjectID string
	// Token returns the job token (CI_JOB_TOKEN), sent as the JOB-TOKEN header and never printed.
	// It is called only when the chain reaches this step and the step is configured; an error,
	// or "", is this step's outcome and the chain goes on.
	Token func(context.Context) (string, error)
	// HTTPClient is used for the request; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// gitlabTimeout bounds the API call so an unreachable instance delays the release by seconds, not minutes.
const gitlabTimeout = 15 * time.Second

// Name is tagtype.SourceGitLab.
func (g *GitLabTags) Name() string { return tagtype.SourceGitLab }

// Lookup reads the tag from the API: a message means annotated, none
// lightweight. ok is false when the API cannot answer (or the step is not
// configured), and outcome never contains the token.
func (g *GitLabTags) Lookup(ctx context.Context, tag string) (t tagtype.Type, outcome string, ok bool) {
	switch {
	case g == nil:
		return "", "skipped: no GitLab API configured", false
	case g.BaseURL == "":
		return "", "skipped: no server URL (CI_SERVER_URL)", false
	case g.ProjectID == "":
		return "", "skipped: no project id (CI_PROJECT_ID)", false
	case g.Token == nil:
		return "", "skipped: no job token (CI_JOB_TOKEN)", false
	}
	token, err := g.Token(ctx)
	if err != nil {
		return "", redact(fmt.Sprintf("could not read the job token (%v): no answer", err), token), false
	}
	if token == "" {
		return "", "skipped: no job token (CI_JOB_TOKEN)", false
	}
	if u, err := url.Parse(g.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", redact(fmt.Sprintf("skipped: CI_SERVER_URL %q is not an http(s) URL", g.BaseURL), token), false
	}
	// No retries: a failing API only costs the release this step, never minutes.
	ctx, cancel := context.WithTimeout(ctx, gitlabTimeout)
	defer cancel()
	got, code, err := g.getTag(ctx, token, tag)
	switch {
	case err != nil && code != 0:
		return "", redact(fmt.Sprintf("HTTP %d %s: the answer is not a tag (%v): no answer", code, http.StatusText(code), err), token), false
	case err != nil:
		return "", redact(fmt.Sprintf("unreachable (%v): no answer", err), token), false
	case code != http.StatusOK:
		return "", redact(statusOutcome(code, g.ProjectID, tag), token), false
	}
	if got.Type() == tagtype.Annotated {
		return tagtype.Annotated, fmt.Sprintf("tag %s has a message: annotated", tag), true
	}
	return tagtype.Lightweight, fmt.Sprintf("tag %s has no message: lightweight", tag), true
}

// apiTag is the part of GitLab's tag object (GET /projects/:id/repository/tags/:tag_name) the
// step reads: an annotated tag has a message, a lightweight one has none (null or "").
type apiTag struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// Type is Annotated for a tag with a message, Lightweight for one without.
func (t apiTag) Type() tagtype.Type {
	if t.Message != "" {
		return tagtype.Annotated
	}
	return tagtype.Lightweight
}

// maxTagAnswer bounds how much of the API's answer is read: a tag object is a few hundred bytes.
const maxTagAnswer = 1 << 20

// decodeTag reads the API's answer for one tag (its first maxTagAnswer bytes): the first JSON
// value, which must be an object with a name.
func decodeTag(body io.Reader) (apiTag, error) {
	var t apiTag
	if err := json.NewDecoder(io.LimitReader(body, maxTagAnswer)).Decode(&t); err != nil {
		return apiTag{}, err
	}
	if t.Name == "" {
		return apiTag{}, fmt.Errorf("no tag name in the answer")
	}
	return t, nil
}

// getTag asks the tags API for one tag with the job token in the JOB-TOKEN header. code is the
// HTTP status (0 when there was no answer); the tag is decoded only from a 200.
func (g *GitLabTags) getTag(ctx context.Context, token, tag string) (apiTag, int, error) {
	u := strings.TrimRight(g.BaseURL, "/") + "/api/v4/projects/" + url.PathEscape(g.ProjectID) + "/repository/tags/" + url.PathEscape(tag)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return apiTag{}, 0, err
	}
	req.Header.Set("JOB-TOKEN", token)
	req.Header.Set("Accept", "application/json")
	client := g.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return apiTag{}, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return apiTag{}, resp.StatusCode, nil
	}
	t, err := decodeTag(resp.Body)
	return t, resp.StatusCode, err
}

// statusOutcome explains a refused API call and what would fix it.
func statusOutcome(code int, project, tag string) string {
	var why string
	switch {
	case code == http.StatusUnauthorized:
		why = "the job token was refused"
	case code == http.StatusForbidden:
		why = "the job token may not read this project's tags; allow it in the project's CI/CD job token settings"
	case code == http.StatusNotFound:
		why = fmt.Sprintf("project %s or tag %s not found, or hidden from the job token", project, tag)
	case code >= 500:
		why = "GitLab failed"
	default:
		why = "unexpected answer"
	}
	return fmt.Sprintf("HTTP %d %s: %s: no answer", code, http.StatusText(code), why)
}

// redact removes the token from text that may echo request details.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[redacted]")
}
