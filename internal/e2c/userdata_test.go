//go:build full

package e2c

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"shipyard/internal/awsapi"
)

// A launched instance gets Config.UserData as its user data: what cloud-init will run at its first
// boot, readable back from the EC2 API exactly as given.
func TestSetupTemplatePassesUserData(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)
	for _, tc := range []struct {
		name string
		spot bool
		data string
	}{
		{"on-demand", false, "#!/bin/sh\n# provision the builder\necho 'it''s \"quoted\"' $HOME\n"},
		{"spot", true, "#!/bin/sh\nexit 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, c, StrategyTemplate)
			cfg.UseSpot, cfg.UserData = tc.spot, tc.data
			if err := cfg.Preflight(); err != nil {
				t.Fatalf("Preflight: %v", err)
			}
			m := NewManager(c, cfg, nil)
			s, err := m.Setup(ctx, nil)
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			t.Cleanup(func() { _ = m.Teardown(context.Background(), s) })
			if got := instanceUserData(t, c, s.InstanceID); got != tc.data {
				t.Errorf("user data of %s = %q, want %q", s.InstanceID, got, tc.data)
			}
		})
	}
}

// instanceUserData is what DescribeInstanceAttribute answers for the instance's userData, decoded.
func instanceUserData(t *testing.T, _ *awsapi.Client, id string) string {
	t.Helper()
	out, err := sdkClient(t).DescribeInstanceAttribute(context.Background(), &ec2.DescribeInstanceAttributeInput{
		InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameUserData,
	})
	if err != nil {
		t.Fatalf("DescribeInstanceAttribute userData of %s: %v", id, err)
	}
	if out.UserData == nil || out.UserData.Value == nil {
		t.Fatalf("instance %s has no user data", id)
	}
	b, err := base64.StdEncoding.DecodeString(aws.ToString(out.UserData.Value))
	if err != nil {
		t.Fatalf("user data of %s is not base64: %v", id, err)
	}
	return string(b)
}
