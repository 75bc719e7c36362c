package e2c

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"shipyard/internal/awsapi"
	"shipyard/internal/awsendpoint"
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

// Endpoints are where the builder's AWS calls go; "" is AWS's own endpoint of the region's
// partition. EC2 is --endpoint (AWS_ENDPOINT_URL_EC2) and never reaches STS; STS is
// AWS_ENDPOINT_URL_STS (--sts-endpoint).
type Endpoints struct{ EC2, STS string }

// Client returns an EC2 client of region whose credentials come from w: STS
// AssumeRoleWithWebIdentity (a call that is not signed: the token is the proof) at ep.STS, asked
// once at once, so a refused token fails here, and again before the role session ends, so a run
// longer than the session keeps working. It returns when the client next assumes the role.
// httpClient may be nil. The token never appears in the error.
func (w WebIdentity) Client(ctx context.Context, region string, ep Endpoints, httpClient *http.Client) (*awsapi.Client, time.Time, error) {
	if err := w.Check(); err != nil {
		return nil, time.Time{}, fmt.Errorf("web identity: %w", err)
	}
	if p, err := awsendpoint.PartitionOf(region); err == nil && awsendpoint.ARNPartition(w.RoleARN) != p.ID {
		return nil, time.Time{}, fmt.Errorf("web identity: role ARN %s is in partition %s, region %s in %s: set AWS_ROLE_ARN to arn:%s:iam::<account id>:role/<name>",
			w.RoleARN, awsendpoint.ARNPartition(w.RoleARN), region, p.ID, p.ID)
	}
	provider, err := awsapi.WebIdentity{RoleARN: w.RoleARN, SessionName: w.SessionName, Token: awsapi.TokenString(w.Token)}.
		Provider(awsapi.STSConfig{Region: region, Endpoint: ep.STS, HTTPClient: httpClient})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("web identity: %w", err)
	}
	c, err := awsapi.NewWithProvider(region, ep.EC2, provider, httpClient)
	if err != nil {
		return nil, time.Time{}, err
	}
	until, err := c.Expires(ctx)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("assuming role %s with the job's web identity token: %w (check the role's trust policy names this OIDC provider and audience)", w.RoleARN, err)
	}
	return c, until, nil
}
