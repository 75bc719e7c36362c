package e2c

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"shipyard/internal/awsapi"
)

// WebIdentity is an OIDC identity (GitLab's id_tokens) to exchange for temporary credentials of
// an IAM role, so a job needs no long-lived AWS access key.
type WebIdentity struct {
	// RoleARN is the role the job assumes (AWS_ROLE_ARN), e.g. arn:aws:iam::123456789012:role/shipyard-arm-builder.
	RoleARN string
	// Token is the job's OIDC ID token (never logged, never in an error).
	Token string
	// SessionName names the role session in CloudTrail, e.g. shipyard-<pipeline>-<job>.
	SessionName string
}

var (
	roleARNRE     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// Check reports every problem of w at once, naming the setting to fix.
func (w WebIdentity) Check() error {
	var errs []error
	if !roleARNRE.MatchString(w.RoleARN) {
		errs = append(errs, fmt.Errorf("role ARN %q is not an IAM role ARN: set AWS_ROLE_ARN to arn:aws:iam::<account id>:role/<name>", w.RoleARN))
	}
	if w.Token == "" {
		errs = append(errs, errors.New("the web identity token is empty: give the job an id_tokens entry (docs/gitlab-ci.md) and pass it as --web-identity-token env:NAME"))
	}
	if !sessionNameRE.MatchString(w.SessionName) {
		errs = append(errs, fmt.Errorf("role session name %q must be 2-64 letters, digits or +=,.@_-", w.SessionName))
	}
	return errors.Join(errs...)
}

// AssumeRole exchanges w for temporary credentials with STS AssumeRoleWithWebIdentity (a call
// that is not signed: the token is the proof) at endpoint ("" is AWS's own) in region.
// httpClient may be nil. The token never appears in the error.
func (w WebIdentity) AssumeRole(ctx context.Context, region, endpoint string, httpClient *http.Client) (awsapi.Credentials, error) {
	if err := w.Check(); err != nil {
		return awsapi.Credentials{}, fmt.Errorf("web identity: %w", err)
	}
	creds, err := awsapi.AssumeRoleWithWebIdentity(ctx, httpClient, region, endpoint, w.RoleARN, w.SessionName, w.Token)
	if err != nil {
		return awsapi.Credentials{}, fmt.Errorf("assuming role %s with the job's web identity token: %w (check the role's trust policy names this OIDC provider and audience)", w.RoleARN, err)
	}
	return creds, nil
}
