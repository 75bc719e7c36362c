package awsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// AssumeRoleWithWebIdentity exchanges the web identity token (e.g. a GitLab CI id_token) for
// temporary credentials of roleARN, with an unsigned STS request retried with DefaultRetry.
// endpoint "" means https://sts.<region>.amazonaws.com; httpClient nil means
// http.DefaultClient. The token never appears in an error.
func AssumeRoleWithWebIdentity(ctx context.Context, httpClient *http.Client, region, endpoint, roleARN, sessionName, token string) (Credentials, error) {
	const action = "AssumeRoleWithWebIdentity"
	if endpoint == "" {
		if region == "" {
			return Credentials{}, errors.New("STS " + action + ": region is empty: set AWS_DEFAULT_REGION")
		}
		endpoint = "https://sts." + region + ".amazonaws.com"
	}
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	f := url.Values{
		"Action": {action}, "Version": {"2011-06-15"},
		"RoleArn": {roleARN}, "RoleSessionName": {sessionName}, "WebIdentityToken": {token},
	}
	var out struct {
		Creds struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		} `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
	}
	if err := post(ctx, httpClient, DefaultRetry, action, endpoint, f, nil, []string{token}, &out); err != nil {
		return Credentials{}, err
	}
	c := out.Creds
	if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" {
		return Credentials{}, fmt.Errorf("STS %s: the answer holds no complete credentials for role %s", action, roleARN)
	}
	creds := Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
	if c.Expiration != "" {
		exp, err := time.Parse(time.RFC3339, c.Expiration)
		if err != nil {
			return Credentials{}, fmt.Errorf("STS %s: the credentials' expiration %q is no RFC 3339 time", action, redact(c.Expiration, []string{token}))
		}
		creds.Expires = exp
	}
	return creds, nil
}
