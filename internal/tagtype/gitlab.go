package tagtype

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// GitLabSource is the project's tags API, read with the CI job token. A nil
// *GitLabSource is a source that skips its step.
type GitLabSource struct {
	// BaseURL is the instance root (CI_SERVER_URL); the client adds /api/v4.
	BaseURL string
	// ProjectID is the numeric id or the "group/project" path (CI_PROJECT_ID or CI_PROJECT_PATH).
	ProjectID string
	// Token returns the job token (CI_JOB_TOKEN), sent as the JOB-TOKEN header and never printed.
	// It is called only when the chain reaches this step and the step is configured; an error,
	// or "", is this step's outcome and the chain goes on.
	Token func(context.Context) (string, error)
	// HTTPClient is used for the request; nil means the client library's default.
	HTTPClient *http.Client
}

// gitlabTimeout bounds the API call so an unreachable instance delays the release by seconds, not minutes.
const gitlabTimeout = 15 * time.Second

// Name is SourceGitLab.
func (g *GitLabSource) Name() string { return SourceGitLab }

// Lookup reads the tag from the API: a message means annotated, none
// lightweight. ok is false when the API cannot answer (or the step is not
// configured), and outcome never contains the token.
func (g *GitLabSource) Lookup(ctx context.Context, tag string) (t Type, outcome string, ok bool) {
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
	// The URL-warning logger is silenced: the trail is the one place this step reports.
	opts := []gitlab.ClientOptionFunc{
		gitlab.WithBaseURL(g.BaseURL),
		gitlab.WithoutRetries(),
		gitlab.WithURLWarningLogger(slog.New(slog.DiscardHandler)),
	}
	if g.HTTPClient != nil {
		opts = append(opts, gitlab.WithHTTPClient(g.HTTPClient))
	}
	client, err := gitlab.NewJobClient(token, opts...)
	if err != nil {
		return "", redact(fmt.Sprintf("client not usable (%v): no answer; check CI_SERVER_URL", err), token), false
	}
	ctx, cancel := context.WithTimeout(ctx, gitlabTimeout)
	defer cancel()
	got, resp, err := client.Tags.GetTag(g.ProjectID, tag, gitlab.WithContext(ctx))
	if err != nil {
		if resp != nil {
			return "", redact(statusOutcome(resp.StatusCode, g.ProjectID, tag), token), false
		}
		return "", redact(fmt.Sprintf("unreachable (%v): no answer", err), token), false
	}
	if got.Message != "" {
		return Annotated, fmt.Sprintf("tag %s has a message: annotated", tag), true
	}
	return Lightweight, fmt.Sprintf("tag %s has no message: lightweight", tag), true
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
