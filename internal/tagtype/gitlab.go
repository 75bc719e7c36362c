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

// GitLabSource is the project's tags API, read with the CI job token.
type GitLabSource struct {
	// BaseURL is the instance root (CI_SERVER_URL); the client adds /api/v4.
	BaseURL string
	// ProjectID is the numeric id or the "group/project" path (CI_PROJECT_ID or CI_PROJECT_PATH).
	ProjectID string
	// Token is the job token (CI_JOB_TOKEN), sent as the JOB-TOKEN header and never printed.
	Token string
	// HTTPClient is used for the request; nil means the client library's default.
	HTTPClient *http.Client
}

// gitlabTimeout bounds the API call so an unreachable instance delays the release by seconds, not minutes.
const gitlabTimeout = 15 * time.Second

// lookup reads the tag from the API; ok is false when the API cannot answer,
// and outcome never contains the token.
func (g *GitLabSource) lookup(ctx context.Context, tag string) (t Type, outcome string, ok bool) {
	switch {
	case g.BaseURL == "":
		return "", "skipped: no server URL (CI_SERVER_URL)", false
	case g.ProjectID == "":
		return "", "skipped: no project id (CI_PROJECT_ID)", false
	case g.Token == "":
		return "", "skipped: no job token (CI_JOB_TOKEN)", false
	}
	if u, err := url.Parse(g.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", g.redact(fmt.Sprintf("skipped: CI_SERVER_URL %q is not an http(s) URL", g.BaseURL)), false
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
	client, err := gitlab.NewJobClient(g.Token, opts...)
	if err != nil {
		return "", g.redact(fmt.Sprintf("client not usable (%v): no answer; check CI_SERVER_URL", err)), false
	}
	ctx, cancel := context.WithTimeout(ctx, gitlabTimeout)
	defer cancel()
	got, resp, err := client.Tags.GetTag(g.ProjectID, tag, gitlab.WithContext(ctx))
	if err != nil {
		if resp != nil {
			return "", g.redact(statusOutcome(resp.StatusCode, g.ProjectID, tag)), false
		}
		return "", g.redact(fmt.Sprintf("unreachable (%v): no answer", err)), false
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
func (g *GitLabSource) redact(s string) string {
	if g.Token == "" {
		return s
	}
	return strings.ReplaceAll(s, g.Token, "[redacted]")
}
