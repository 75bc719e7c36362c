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
		{name: "template without template id, max price without spot, bad region and port", edit: func(c *Config) {
			c.LaunchTemplateID, c.SpotMaxPrice, c.Region, c.SSHPort = "", "0.05", "Europe", 0
		}, want: [][]string{{"AWS_DEFAULT_REGION"}, {"E2C_LAUNCH_TEMPLATE_ID"}, {"E2C_USE_SPOT", "E2C_SPOT_MAX_PRICE"}, {"E2C_SSH_PORT"}}},
		{name: "malformed ids and values", edit: func(c *Config) {
			c.InstanceID, c.LaunchTemplateID, c.LaunchTemplateVersion = "instance-1", "template", "latest"
			c.UseSpot, c.SpotMaxPrice, c.Subnets, c.JobID = true, "-1", []string{"sn-1"}, "12/34"
			c.SSHAddrOverride = "no-port"
		}, want: [][]string{{"E2C_INSTANCE_ID"}, {"E2C_LAUNCH_TEMPLATE_ID"}, {"E2C_LAUNCH_TEMPLATE_VERSION"}, {"E2C_SUBNETS"},
			{"E2C_SPOT_MAX_PRICE"}, {"CI_JOB_ID"}, {"E2C_SSH_ADDR_OVERRIDE"}}},
		{name: "empty", edit: func(c *Config) { *c = Config{} }, want: [][]string{
			{"AWS_DEFAULT_REGION"}, {"E2C_INSTANCE_STRATEGY"}, {"E2C_PROJECT", "CI_PROJECT_PATH"}, {"CI_PIPELINE_ID"}, {"CI_JOB_ID"},
			{"E2C_TTL"}, {"E2C_WAIT_TIMEOUT"}, {"E2C_SSH_USER"}, {"E2C_SSH_PORT"},
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

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string // variables named in the error
	}{
		{
			name: "defaults",
			env:  map[string]string{"CI_PROJECT_PATH": "group/app", "CI_PIPELINE_ID": "9", "CI_JOB_ID": "10"},
			want: Config{Project: "group/app", PipelineID: "9", JobID: "10", SSHPort: DefaultSSHPort, TTL: DefaultTTL,
				WaitTimeout: DefaultWaitTimeout, PollInterval: DefaultPollInterval, SettleDelay: DefaultSettleDelay, ReadyTimeout: DefaultReadyTimeout},
		},
		{
			name: "everything set",
			env: map[string]string{
				"E2C_REGION": "eu-north-1", "E2C_STRATEGY": "template", "E2C_INSTANCE_ID": "i-1", "E2C_LAUNCH_TEMPLATE_ID": "lt-1",
				"E2C_LAUNCH_TEMPLATE_VERSION": "3", "E2C_USE_SPOT": "true", "E2C_SPOT_MAX_PRICE": "0.04",
				"E2C_SUBNETS": "subnet-a, subnet-b,subnet-c", "E2C_PROJECT": "override", "CI_PROJECT_PATH": "group/app",
				"E2C_TTL": "2h", "E2C_SSH_USER": "admin", "E2C_SSH_PORT": "2222", "E2C_SSH_ADDR_OVERRIDE": "127.0.0.1:2222",
				"E2C_WAIT_TIMEOUT": "90s", "E2C_POLL_INTERVAL": "1s", "E2C_SETTLE_DELAY": "3s", "E2C_READY_TIMEOUT": "4m",
			},
			want: Config{Region: "eu-north-1", Strategy: "template", InstanceID: "i-1", LaunchTemplateID: "lt-1",
				LaunchTemplateVersion: "3", UseSpot: true, SpotMaxPrice: "0.04", Subnets: []string{"subnet-a", "subnet-b", "subnet-c"},
				Project: "override", TTL: 2 * time.Hour, SSHUser: "admin", SSHPort: 2222, SSHAddrOverride: "127.0.0.1:2222",
				WaitTimeout: 90 * time.Second, PollInterval: time.Second, SettleDelay: 3 * time.Second, ReadyTimeout: 4 * time.Minute},
		},
		{
			name:    "unparsable values are all reported",
			env:     map[string]string{"E2C_USE_SPOT": "yes please", "E2C_SSH_PORT": "ssh", "E2C_TTL": "3 hours", "E2C_WAIT_TIMEOUT": "5"},
			wantErr: []string{"E2C_USE_SPOT", "E2C_SSH_PORT", "E2C_TTL", "E2C_WAIT_TIMEOUT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != nil {
				var named []string
				for _, vars := range variablesNamed(err) {
					named = append(named, vars...)
				}
				if diff := cmp.Diff(tt.wantErr, named); diff != "" {
					t.Errorf("variables in the error (-want +got):\n%s\nerror: %v", diff, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ConfigFromEnv: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
