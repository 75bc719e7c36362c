package e2c

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
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
func (w WebIdentity) AssumeRole(ctx context.Context, region, endpoint string, httpClient *http.Client) (aws.Credentials, error) {
	if err := w.Check(); err != nil {
		return aws.Credentials{}, fmt.Errorf("web identity: %w", err)
	}
	opts := sts.Options{Region: region, Credentials: aws.AnonymousCredentials{}}
	if endpoint != "" {
		opts.BaseEndpoint = aws.String(endpoint)
	}
	if httpClient != nil {
		opts.HTTPClient = httpClient
	}
	out, err := sts.New(opts).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(w.RoleARN), RoleSessionName: aws.String(w.SessionName), WebIdentityToken: aws.String(w.Token),
	})
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("assuming role %s with the job's web identity token: %w (check the role's trust policy names this OIDC provider and audience)", w.RoleARN, err)
	}
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.SessionToken == nil {
		return aws.Credentials{}, fmt.Errorf("assuming role %s: STS answered without credentials", w.RoleARN)
	}
	creds := aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken, Source: "AssumeRoleWithWebIdentity"}
	if c.Expiration != nil {
		creds.CanExpire, creds.Expires = true, *c.Expiration
	}
	return creds, nil
}
