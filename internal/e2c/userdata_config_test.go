package e2c

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Without Config.UserData the request carries none, so the launch template's own applies.
func TestSetupTemplateWithoutUserData(t *testing.T) {
	in := NewManager(nil, validConfig(), nil).runInput(attempt{}, time.Now())
	if in.UserData != nil {
		t.Errorf("RunInstances input has user data %q without Config.UserData", aws.ToString(in.UserData))
	}
}

func TestPreflightUserData(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"existing strategy", func(c *Config) {
			c.Strategy, c.InstanceID, c.LaunchTemplateID = StrategyExisting, "i-0123456789abcdef0", ""
		}, `user data runs only at the first boot of a launched instance, not with strategy "existing"`},
		{"too large", func(c *Config) { c.UserData = strings.Repeat("x", 16*1024+1) }, "user data is 16385 bytes, EC2 takes at most 16384"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			c.UserData = "#!/bin/sh\n"
			tc.edit(&c)
			err := c.Preflight()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Preflight: %v, want %q", err, tc.want)
			}
		})
	}
	c := validConfig()
	c.UserData = strings.Repeat("x", 16*1024)
	if err := c.Preflight(); err != nil {
		t.Errorf("16 KB of user data: %v", err)
	}
}

// RunInstances carries Config.UserData base64-encoded, as the EC2 API wants it.
func TestRunInputEncodesUserData(t *testing.T) {
	cfg := validConfig()
	cfg.UserData = "#!/bin/sh\necho ok\n"
	in := NewManager(nil, cfg, nil).runInput(attempt{spot: true, subnet: "subnet-0123abcd"}, time.Now())
	got, err := base64.StdEncoding.DecodeString(aws.ToString(in.UserData))
	if err != nil || string(got) != cfg.UserData {
		t.Errorf("RunInstances user data %q decodes to %q (%v), want %q", aws.ToString(in.UserData), got, err, cfg.UserData)
	}
}
