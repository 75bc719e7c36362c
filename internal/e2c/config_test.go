package e2c

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// validConfig is a template-strategy Config that passes Preflight.
func validConfig() Config {
	return Config{
		Region: "eu-north-1", Strategy: StrategyTemplate, LaunchTemplateID: "lt-0123456789abcdef0",
		Project: "group/app", PipelineID: "77", JobID: "1234",
		TTL: time.Hour, SSHUser: "admin", SSHPort: 22, WaitTimeout: time.Minute,
	}
}

// variablesNamed lists, per line of a Preflight error after its header, the
// E2C_*/CI_* variables the line names.
func variablesNamed(err error) [][]string {
	if err == nil {
		return nil
	}
	lines := strings.Split(err.Error(), "\n")[1:]
	re := regexp.MustCompile(`\b(E2C|CI|AWS)_[A-Z_]+\b`)
	out := make([][]string, len(lines))
	for i, l := range lines {
		out[i] = re.FindAllString(l, -1)
	}
	return out
}

func TestPreflight(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want [][]string // variables named by each reported problem, in order
	}{
		{name: "valid template", edit: func(*Config) {}},
		{name: "valid existing", edit: func(c *Config) {
			c.Strategy, c.InstanceID, c.LaunchTemplateID = StrategyExisting, "i-0123456789abcdef0", ""
		}},
		{name: "valid spot with price and subnets", edit: func(c *Config) {
			c.UseSpot, c.SpotMaxPrice, c.Subnets, c.LaunchTemplateVersion = true, "0.042", []string{"subnet-0123abcd", "subnet-0123456789abcdef0"}, "$Latest"
		}},
		{name: "existing without instance, with spot and subnets", edit: func(c *Config) {
			c.Strategy, c.UseSpot, c.Subnets = StrategyExisting, true, []string{"subnet-0123abcd"}
		}, want: [][]string{{"E2C_INSTANCE_ID"}, {"E2C_USE_SPOT", "E2C_INSTANCE_STRATEGY"}, {"E2C_SUBNETS", "E2C_INSTANCE_STRATEGY"}}},
		{name: "template without template id, bad region and port; a max price without spot is ignored", edit: func(c *Config) {
			c.LaunchTemplateID, c.SpotMaxPrice, c.Region, c.SSHPort = "", "0.05", "Europe", 0
		}, want: [][]string{{"AWS_DEFAULT_REGION"}, {"E2C_LAUNCH_TEMPLATE_ID"}, {"E2C_SSH_PORT"}}},
		{name: "a malformed max price without spot", edit: func(c *Config) { c.SpotMaxPrice = "0,05" },
			want: [][]string{{"E2C_SPOT_MAX_PRICE"}}},
		{name: "malformed ids and values", edit: func(c *Config) {
			c.InstanceID, c.LaunchTemplateID, c.LaunchTemplateVersion = "instance-1", "template", "latest"
			c.UseSpot, c.SpotMaxPrice, c.Subnets, c.JobID = true, "-1", []string{"sn-1"}, "12/34"
			c.SSHAddrOverride = "no-port"
		}, want: [][]string{{"E2C_INSTANCE_ID"}, {"E2C_LAUNCH_TEMPLATE_ID"}, {"E2C_LAUNCH_TEMPLATE_VERSION"}, {"E2C_SUBNETS"},
			{"E2C_SPOT_MAX_PRICE"}, {"CI_JOB_ID"}, {"E2C_SSH_ADDR_OVERRIDE"}}},
		{name: "empty", edit: func(c *Config) { *c = Config{} }, want: [][]string{
			{"AWS_DEFAULT_REGION"}, {"E2C_INSTANCE_STRATEGY"}, {"E2C_PROJECT", "CI_PROJECT_PATH"}, {"CI_PIPELINE_ID"}, {"CI_JOB_ID"},
			{"E2C_TTL"}, nil, {"E2C_SSH_USER"}, {"E2C_SSH_PORT"},
		}},
		{name: "unknown strategy", edit: func(c *Config) { c.Strategy = "spot" }, want: [][]string{{"E2C_INSTANCE_STRATEGY"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(&c)
			err := c.Preflight()
			if diff := cmp.Diff(tt.want, variablesNamed(err)); diff != "" {
				t.Errorf("problems reported (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}
