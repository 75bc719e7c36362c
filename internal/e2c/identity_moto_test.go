//go:build full

package e2c

import (
	"context"
	"strings"
	"testing"

	"shipyard/internal/awsapi"
)

// TestAssumeRoleWithWebIdentityOnMoto exchanges a token with moto's STS for temporary
// credentials and uses them, with their session token, for an EC2 call: the GitLab OIDC path
// without a static access key.
func TestAssumeRoleWithWebIdentityOnMoto(t *testing.T) {
	ctx := context.Background()
	w := WebIdentity{RoleARN: "arn:aws:iam::123456789012:role/shipyard-arm-builder", Token: "header.gitlab-oidc-token.signature", SessionName: "shipyard-1-2"}
	creds, err := w.AssumeRole(ctx, testRegion, motoURL, nil)
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" || creds.SessionToken == "" || creds.Expires.IsZero() {
		t.Fatalf("temporary credentials incomplete: key id %q, secret set %v, session token set %v, expires %v",
			creds.AccessKeyID, creds.SecretAccessKey != "", creds.SessionToken != "", creds.Expires)
	}
	if creds.AccessKeyID == testKeyID {
		t.Fatalf("the assumed role's key id is the static test key: STS was not asked")
	}
	c, err := awsapi.New(testRegion, motoURL, creds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeInstances(ctx, nil, nil); err != nil {
		t.Fatalf("EC2 with the assumed role's credentials: %v", err)
	}

	bad := w
	bad.RoleARN = "arn:aws:iam::123456789012:user/not-a-role"
	_, err = bad.AssumeRole(ctx, testRegion, motoURL, nil)
	if err == nil || !strings.Contains(err.Error(), "AWS_ROLE_ARN") || strings.Contains(err.Error(), w.Token) {
		t.Fatalf("a user ARN: want an error naming AWS_ROLE_ARN without the token, got %v", err)
	}
}
