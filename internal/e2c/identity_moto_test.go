//go:build full

package e2c

import (
	"context"
	"strings"
	"testing"
)

// TestAssumeRoleWithWebIdentityOnMoto exchanges a token with moto's STS for temporary
// credentials and uses them, with their session token, for an EC2 call: the GitLab OIDC path
// without a static access key.
func TestAssumeRoleWithWebIdentityOnMoto(t *testing.T) {
	ctx := context.Background()
	w := WebIdentity{RoleARN: "arn:aws:iam::123456789012:role/shipyard-arm-builder", Token: "header.gitlab-oidc-token.signature", SessionName: "shipyard-1-2"}
	c, until, err := w.Client(ctx, testRegion, Endpoints{EC2: motoURL, STS: motoURL}, nil)
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	if until.IsZero() {
		t.Fatalf("the role's credentials do not expire: STS was not asked")
	}
	if _, err := c.DescribeInstances(ctx, nil, nil); err != nil {
		t.Fatalf("EC2 with the assumed role's credentials: %v", err)
	}

	bad := w
	bad.RoleARN = "arn:aws:iam::123456789012:user/not-a-role"
	_, _, err = bad.Client(ctx, testRegion, Endpoints{EC2: motoURL, STS: motoURL}, nil)
	if err == nil || !strings.Contains(err.Error(), "AWS_ROLE_ARN") || strings.Contains(err.Error(), w.Token) {
		t.Fatalf("a user ARN: want an error naming AWS_ROLE_ARN without the token, got %v", err)
	}
}
