//go:build full

package ec2

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"shipyard/internal/e2c"
	"shipyard/internal/testenv"
)

// GitLab OIDC through the entry point: `dagger call … with-aws-web-identity --role-arn …
// --web-identity-token env:GITLAB_OIDC_TOKEN arm-builder --ref staging reap` with no access key at all
// exchanges the token with STS (moto's) and reaps an expired builder with the role's temporary
// credentials; the token never reaches the output.
func TestArmBuilderWithWebIdentity(t *testing.T) {
	needEngine(t)
	motoURL, motoPort := startMoto(t)
	ctx := context.Background()
	client := testenv.MotoEC2(motoURL)
	template := testenv.ArmLaunchTemplate(t, client)
	tags := []types.Tag{
		{Key: aws.String(e2c.TagManagedBy), Value: aws.String(e2c.ManagedByValue)},
		{Key: aws.String(e2c.TagProject), Value: aws.String("e2e-oidc")},
		{Key: aws.String(e2c.TagStrategy), Value: aws.String(e2c.StrategyTemplate)},
		{Key: aws.String(e2c.TagJobID), Value: aws.String("41")},
		{Key: aws.String(e2c.TagExpiresAt), Value: aws.String(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))},
	}
	run, err := client.RunInstances(ctx, &ec2.RunInstancesInput{LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(template)},
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: tags}}})
	if err != nil {
		t.Fatal(err)
	}
	expired := aws.ToString(run.Instances[0].InstanceId)

	const token = "eyJhbGciOiJSUzI1NiJ9.gitlab-oidc-token-for-the-test.c2lnbmF0dXJl"
	t.Setenv("GITLAB_OIDC_TOKEN", token)
	r := daggerCall(t, 10*time.Minute, "--project", "e2e-oidc", "--arm64", "--arm-builder", "ec2",
		"with-arm-instance", "--launch-template-id", template, "--region", "eu-north-1",
		"--endpoint", motoURL, "--tunnel", fmt.Sprintf("tcp://localhost:%d", motoPort),
		"with-aws-web-identity", "--role-arn", "arn:aws:iam::123456789012:role/shipyard-arm-builder", "--web-identity-token", "env:GITLAB_OIDC_TOKEN",
		"--sts-endpoint", motoURL,
		"arm-builder", "--ref", "staging", "reap")
	if r.Err != nil {
		t.Fatalf("arm-builder reap with a web identity: %v\n%s\n%s", r.Err, r.Stdout, tail(r.Stderr, 40))
	}
	if !strings.Contains(r.Stdout, expired) {
		t.Errorf("reap did not terminate the expired builder %s:\n%s", expired, r.Stdout)
	}
	if !strings.Contains(r.Stderr+r.Stdout, "assumed role arn:aws:iam::123456789012:role/shipyard-arm-builder as session shipyard-local") {
		t.Errorf("the log does not say which role was assumed:\n%s", tail(r.Stderr, 40))
	}
	if strings.Contains(r.Stderr+r.Stdout, "gitlab-oidc-token-for-the-test") {
		t.Errorf("the web identity token reached the output")
	}
	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{expired}})
	if err != nil {
		t.Fatal(err)
	}
	if st := out.Reservations[0].Instances[0].State.Name; st != types.InstanceStateNameTerminated && st != types.InstanceStateNameShuttingDown {
		t.Errorf("expired builder %s is %s after reap, want terminated", expired, st)
	}
}
