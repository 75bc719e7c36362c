package e2c

import (
	"strings"
	"testing"
	"time"
)

// Without Config.UserData the request carries none, so the launch template's own applies.
func TestSetupTemplateWithoutUserData(t *testing.T) {
	in := NewManager(nil, validConfig(), nil).runInput(attempt{}, time.Now())
	if in.UserData != "" {
		t.Errorf("RunInstances input has user data %q without Config.UserData", in.UserData)
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

// The RunInstances request of a placement carries Config.UserData as it is (awsapi encodes it;
// TestSetupTemplatePassesUserData reads it back from moto), the placement's market and subnet, and
// termination on shutdown.
func TestRunInputOfAPlacement(t *testing.T) {
	cfg := validConfig()
	cfg.UserData = "#!/bin/sh\necho ok\n"
	cfg.UseSpot, cfg.SpotMaxPrice = true, "0.05"
	in := NewManager(nil, cfg, nil).runInput(attempt{spot: true, subnet: "subnet-0123abcd"}, time.Now())
	if in.UserData != cfg.UserData || !in.Spot || in.SpotMaxPrice != "0.05" || in.SubnetID != "subnet-0123abcd" || !in.TerminateOnShutdown || in.LaunchTemplateID != cfg.LaunchTemplateID {
		t.Errorf("RunInstances input %+v, want the user data, spot at 0.05 in subnet-0123abcd, terminating on shutdown, from %s", in, cfg.LaunchTemplateID)
	}
	if in := NewManager(nil, cfg, nil).runInput(attempt{}, time.Now()); in.Spot || in.SpotMaxPrice != "" || in.SubnetID != "" {
		t.Errorf("on-demand in the template's subnet: %+v", in)
	}
}
