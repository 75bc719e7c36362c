package awsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"shipyard/internal/awsendpoint"
)

// Credentials are long-lived or session credentials given as they are. SessionToken is set for
// temporary credentials.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	// Expires is when temporary credentials end (zero: unknown or never).
	Expires time.Time
}

// StaticProvider is the SDK's provider of c, which never refreshes.
func StaticProvider(c Credentials) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
}

// RefreshWindow is how long before temporary credentials expire the client fetches new ones.
const RefreshWindow = 5 * time.Minute

// Token is a web identity token as the SDK's provider reads it again at every refresh: Token
// for one given as a secret, stscreds.IdentityTokenFile for AWS_WEB_IDENTITY_TOKEN_FILE.
type Token = stscreds.IdentityTokenRetriever

// TokenString is a web identity token given as it is (e.g. a GitLab id_token read from a secret).
type TokenString string

// GetIdentityToken returns the token.
func (t TokenString) GetIdentityToken() ([]byte, error) { return []byte(t), nil }

// WebIdentity is an IAM role assumed with an OIDC token (STS AssumeRoleWithWebIdentity): the
// SDK's web identity provider, refreshed by the SDK's credentials cache RefreshWindow before the
// role session ends, so runs longer than a session keep their credentials.
type WebIdentity struct {
	// RoleARN is the role, e.g. arn:aws:iam::123456789012:role/shipyard-arm-builder.
	RoleARN string
	// SessionName names the role session in CloudTrail.
	SessionName string
	// Token is the OIDC token (never logged, never in an error).
	Token Token
	// Duration is the role session's length (0: the role's default, 1 h).
	Duration time.Duration
}

// STSConfig is where AssumeRoleWithWebIdentity is asked: Endpoint "" is the regional STS
// endpoint of Region's partition (never the EC2 endpoint).
type STSConfig struct {
	Region, Endpoint string
	// HTTPClient nil means http.DefaultClient.
	HTTPClient *http.Client
	// Retry is how STS is retried (zero: DefaultRetry).
	Retry Retry
}

// Provider returns the credentials of w, cached and refreshed by the SDK (Invalidate drops them).
// Nothing is asked until the first Retrieve; its errors are *APIError (or plain errors) without
// the token. The credentials it gives expire RefreshWindow before the role session ends.
func (w WebIdentity) Provider(cfg STSConfig) (*Refreshing, error) {
	endpoint, err := awsendpoint.Resolve(awsendpoint.STS, cfg.Region, cfg.Endpoint, "the STS endpoint (AWS_ENDPOINT_URL_STS)")
	if err != nil {
		return nil, err
	}
	if w.Token == nil {
		return nil, errors.New("the web identity token is missing")
	}
	r := cfg.Retry
	if r.Attempts == 0 {
		r = DefaultRetry
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	client := sts.New(sts.Options{
		Region: cfg.Region, BaseEndpoint: aws.String(endpoint), HTTPClient: hc,
		Retryer: stsRetryer(r),
	})
	p := stscreds.NewWebIdentityRoleProvider(client, w.RoleARN, w.Token, func(o *stscreds.WebIdentityRoleOptions) {
		o.RoleSessionName = w.SessionName
		o.Duration = w.Duration
	})
	cache := aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = RefreshWindow
	})
	return &Refreshing{cache: cache, token: w.Token}, nil
}

// stsRetryer is the retryer of the STS client: the same classification and budget as the EC2
// calls'. The SDK's client waits itself; an injected Sleep is handed the wait instead, and the
// client then waits nothing.
func stsRetryer(r Retry) aws.Retryer {
	std := newRetryer(r)
	if r.Sleep == nil {
		return std
	}
	return injectedSleep{std, r.Sleep}
}

// injectedSleep is a retryer whose waits are done by sleep, leaving none to the SDK.
type injectedSleep struct {
	*sdkretry.Standard
	sleep func(context.Context, time.Duration) error
}

func (s injectedSleep) RetryDelay(attempt int, err error) (time.Duration, error) {
	d, derr := s.Standard.RetryDelay(attempt, err)
	if derr != nil {
		return 0, derr
	}
	return 0, s.sleep(context.Background(), d)
}

// Refreshing is a web identity's credentials in the SDK's cache. It hands on the cache's errors
// as *APIError (AWS answered) or plain errors, with the token removed from every text: STS may
// quote the token it refused.
type Refreshing struct {
	cache *aws.CredentialsCache
	token Token
}

// Invalidate drops the cached credentials: the next Retrieve assumes the role again.
func (r *Refreshing) Invalidate() { r.cache.Invalidate() }

// Retrieve returns the cached credentials, assuming the role when they are missing or expire
// within RefreshWindow.
func (r *Refreshing) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := r.cache.Retrieve(ctx)
	if err == nil {
		return creds, nil
	}
	const action = "AssumeRoleWithWebIdentity"
	var secrets []string
	if tok, terr := r.token.GetIdentityToken(); terr == nil {
		secrets = []string{string(tok)}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		e := &APIError{Action: action, Code: api.ErrorCode(), Message: redact(api.ErrorMessage(), secrets)}
		var resp *smithyhttp.ResponseError
		if errors.As(err, &resp) {
			e.StatusCode = resp.HTTPStatusCode()
		}
		var rid interface{ ServiceRequestID() string }
		if errors.As(err, &rid) {
			e.RequestID = rid.ServiceRequestID()
		}
		return aws.Credentials{}, e
	}
	return aws.Credentials{}, fmt.Errorf("STS %s: %s", action, redact(err.Error(), secrets))
}
