package e2c

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"shipyard/internal/provision"
	"shipyard/internal/retry"
)

// settings are a template-strategy builder's settings, as the module passes them, with access
// keys and no SSH keys (the module provisions it), changed by edit when it is not nil.
func settings(edit func(*Settings)) Settings {
	s := Settings{Strategy: StrategyTemplate, LaunchTemplateID: "lt-0123456789abcdef0", Project: "app", JobID: "42", AccessKeys: true}
	if edit != nil {
		edit(&s)
	}
	return s
}

func jobKeys(t *testing.T) provision.Keys {
	t.Helper()
	k, err := provision.NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// failedAs tells whether the case expects an error (want is part of its text) and fails the test
// unless err is that error; a case that expects none fails on any.
func failedAs(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one with %q", err, want)
	}
	return true
}

func TestResolve(t *testing.T) {
	const host = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	defaults := Config{
		Region: DefaultRegion, Strategy: StrategyTemplate, LaunchTemplateID: "lt-0123456789abcdef0", Project: "app",
		PipelineID: LocalPipelineID, JobID: "42", SSHUser: DefaultSSHUser, SSHPort: DefaultSSHPort, TTL: DefaultTTL,
		ReadyTimeout: DefaultReadyTimeout, WaitTimeout: retry.EC2Wait.Within, PollInterval: retry.EC2Wait.Every, SettleDelay: DefaultSettleDelay,
	}
	tests := []struct {
		name      string
		edit      func(*Settings)
		want      *Config // nil: only the other fields are checked
		provision bool
		console   bool // the host key is pinned from the console
		socket    string
		errs      []string // one substring per reported problem, in order; nil: no error
		notErr    []string // substrings the error must not have
	}{
		{name: "defaults: the module provisions a template builder", want: &defaults, provision: true, socket: provision.EngineSocket},
		{name: "everything given", edit: func(s *Settings) {
			s.Region, s.PipelineID, s.SSHUser, s.SSHPort, s.RemoteSocket = "us-east-2", "77", "admin", 2222, "/run/other.sock"
			s.TTL, s.ReadyTimeout, s.UseSpot, s.SpotMaxPrice = "90m", "4m", true, "0.05"
			s.Subnets = []string{"subnet-0123456789abcdef0, subnet-0123456789abcdef1", "subnet-0123456789abcdef2"}
		}, want: func() *Config {
			c := defaults
			c.Region, c.PipelineID, c.SSHUser, c.SSHPort = "us-east-2", "77", "admin", 2222
			c.TTL, c.ReadyTimeout, c.UseSpot, c.SpotMaxPrice = 90*time.Minute, 4*time.Minute, true, "0.05"
			c.Subnets = []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1", "subnet-0123456789abcdef2"}
			return &c
		}(), provision: true, socket: "/run/other.sock"},
		{name: "an image with its own keys", edit: func(s *Settings) { s.SSHPrivateKey, s.SSHHostKey = true, host }, socket: provision.EngineSocket},
		{name: "a web identity instead of access keys", edit: func(s *Settings) { s.AccessKeys, s.WebIdentity = false, true }, provision: true},
		{name: "existing strategy with its keys, provisioning options for its script", edit: func(s *Settings) {
			s.Strategy, s.LaunchTemplateID, s.InstanceID = StrategyExisting, "", "i-0123456789abcdef0"
			s.SSHPrivateKey, s.SSHHostKey = true, host
			s.Provisioning.EngineURL = "https://example.com/engine.tar.gz"
		}},
		{name: "a private key alone: an image with its own keys, the host key from its console",
			edit: func(s *Settings) { s.SSHPrivateKey = true }, console: true},
		{name: "existing strategy with a private key alone: the host key from its console", edit: func(s *Settings) {
			s.Strategy, s.LaunchTemplateID, s.InstanceID = StrategyExisting, "", "i-0123456789abcdef0"
			s.SSHPrivateKey = true
			s.Provisioning.EngineURL = "https://example.com/engine.tar.gz"
		}, console: true},
		{name: "a host key alone", edit: func(s *Settings) { s.SSHHostKey = host },
			errs: []string{"--ssh-host-key needs the client key it goes with: with-arm-access --ssh-private-key=env:E2C_SSH_PRIVATE_KEY"}},
		{name: "existing strategy with a host key alone", edit: func(s *Settings) {
			s.Strategy, s.LaunchTemplateID, s.InstanceID = StrategyExisting, "", "i-0123456789abcdef0"
			s.SSHHostKey = host
		}, errs: []string{"--ssh-host-key needs the client key it goes with"}},
		{name: "provisioning options for an image with its own keys, host key from the console", edit: func(s *Settings) {
			s.SSHPrivateKey = true
			s.Provisioning.EngineURL = "https://example.com/engine.tar.gz"
		}, errs: []string{"with-arm-provisioning configures a builder the module provisions with per-job keys"}},
		{name: "provisioning options for an image with its own keys", edit: func(s *Settings) {
			s.SSHPrivateKey, s.SSHHostKey = true, host
			s.Provisioning.Mirrors = []string{"docker.io=mirror.example.com"}
		}, errs: []string{"with-arm-provisioning configures a builder the module provisions with per-job keys"}},
		{name: "existing strategy without keys", edit: func(s *Settings) {
			s.Strategy, s.LaunchTemplateID, s.InstanceID = StrategyExisting, "", "i-0123456789abcdef0"
		}, errs: []string{"the existing strategy needs the builder's client key: with-arm-access --ssh-private-key=env:E2C_SSH_PRIVATE_KEY (its host key is read from the instance's console"}},
		{name: "no AWS credentials", edit: func(s *Settings) { s.AccessKeys = false }, errs: []string{"AWS credentials missing"}},
		{name: "unreadable durations are reported, before the configuration's own checks", edit: func(s *Settings) {
			s.TTL, s.ReadyTimeout, s.LaunchTemplateID = "3 hours", "soon", ""
		}, errs: []string{`with-arm-instance --ttl "3 hours" is not a duration`, `--ready-timeout (E2C_READY_TIMEOUT) "soon" is not a duration`},
			notErr: []string{"E2C_LAUNCH_TEMPLATE_ID"}},
		{name: "every problem at once", edit: func(s *Settings) {
			s.Strategy, s.AccessKeys, s.SSHPrivateKey = "sometimes", false, true
			s.SSHHostKey = host
			s.SSHPrivateKey = false
		}, errs: []string{"E2C_INSTANCE_STRATEGY", "AWS credentials missing", "--ssh-host-key needs the client key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := settings(tt.edit).Resolve()
			if tt.errs != nil {
				if err == nil {
					t.Fatalf("no error, want %q", tt.errs)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "ARM builder preflight (--arm-builder=ec2):\n") {
					t.Errorf("error does not start with the preflight header:\n%s", msg)
				}
				at := 0
				for _, want := range tt.errs {
					i := strings.Index(msg[at:], want)
					if i < 0 {
						t.Errorf("error lacks %q (in this order):\n%s", want, msg)
						continue
					}
					at += i + len(want)
				}
				for _, bad := range tt.notErr {
					if strings.Contains(msg, bad) {
						t.Errorf("error has %q:\n%s", bad, msg)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil {
				if diff := cmp.Diff(*tt.want, b.Config); diff != "" {
					t.Errorf("config (-want +got):\n%s", diff)
				}
			}
			if b.Provision != tt.provision || b.PinFromConsole != tt.console {
				t.Errorf("provision = %v, pin from the console = %v; want %v, %v", b.Provision, b.PinFromConsole, tt.provision, tt.console)
			}
			if tt.socket != "" && b.RemoteSocket != tt.socket {
				t.Errorf("socket = %q, want %q", b.RemoteSocket, tt.socket)
			}
		})
	}
}

func TestProvisioningOptions(t *testing.T) {
	keys := jobKeys(t)
	tests := []struct {
		name string
		p    Provisioning
		idle time.Duration
		regs []provision.Registry
		err  string
	}{
		{name: "defaults", idle: 0},
		{name: "0 never powers off", p: Provisioning{IdleShutdown: "0"}, idle: -1},
		{name: "an idle shutdown", p: Provisioning{IdleShutdown: "45m"}, idle: 45 * time.Minute},
		{name: "an unreadable idle shutdown", p: Provisioning{IdleShutdown: "soon"}, err: `with-arm-provisioning --idle-shutdown "soon"`},
		{name: "mirrors and the module's plain-HTTP registries",
			p:    Provisioning{Mirrors: []string{"docker.io=mirror.example.com"}, InsecureRegistries: []string{"registry.internal:5000"}},
			regs: []provision.Registry{{Host: "docker.io", Mirrors: []string{"mirror.example.com"}}, {Host: "registry.internal:5000", HTTP: true, Insecure: true}}},
		{name: "a bad mirror and a bad variable together", p: Provisioning{Mirrors: []string{"no-equals"}, Env: []string{"X"}}, err: "with-arm-provisioning: "},
		{name: "the script's own checks", p: Provisioning{EngineURL: "ftp://example.com/engine"}, err: "EngineURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := tt.p.Options("admin", keys)
			if failedAs(t, err, tt.err) {
				return
			}
			if o.IdleShutdown != tt.idle || o.SSHUser != "admin" || o.Keys != keys {
				t.Errorf("idle %v user %q, want %v admin and the keys given", o.IdleShutdown, o.SSHUser, tt.idle)
			}
			if diff := cmp.Diff(tt.regs, o.Registries); diff != "" {
				t.Errorf("registries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScriptOptionsUser(t *testing.T) {
	keys := jobKeys(t)
	for _, tt := range []struct{ given, settings, want string }{
		{"", "", DefaultSSHUser},
		{"", "admin", "admin"},
		{"ubuntu", "admin", "ubuntu"},
	} {
		o, err := Settings{SSHUser: tt.settings}.ScriptOptions(tt.given, keys)
		if err != nil || o.SSHUser != tt.want {
			t.Errorf("ScriptOptions(%q) with SSH user %q: %q, %v; want %q", tt.given, tt.settings, o.SSHUser, err, tt.want)
		}
	}
}

func TestProvisionJob(t *testing.T) {
	keys := jobKeys(t)
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(keys.HostPublic))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*Settings)
		line string // what the log line says of the engine
		err  string
	}{
		{name: "Dagger's published engine image", line: "engine the image registry.dagger.io/engine:v0.19.10"},
		{name: "another engine image", edit: func(s *Settings) {
			s.Provisioning.EngineImage = "ecr.internal/dagger/engine:v0.19.10@sha256:" + strings.Repeat("ab", 32)
		}, line: "engine the image ecr.internal/dagger/engine:v0.19.10@sha256:" + strings.Repeat("ab", 32)},
		{name: "the machine image's engine", edit: func(s *Settings) { s.Provisioning.EngineImage = "none" },
			line: "engine the machine image's own"},
		{name: "a bundle", edit: func(s *Settings) {
			s.Provisioning.EngineURL = "https://example.com/engine.tar.gz"
			s.Provisioning.EngineSHA256 = strings.Repeat("ab", 32)
		}, line: "engine the bundle https://example.com/engine.tar.gz"},
		{name: "a bad option", edit: func(s *Settings) { s.Provisioning.Env = []string{"NO_VALUE"} }, err: "provisioning the ARM builder: with-arm-provisioning: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := settings(tt.edit).Resolve()
			if err != nil {
				t.Fatal(err)
			}
			cfg, line, err := b.ProvisionJob(keys)
			if failedAs(t, err, tt.err) {
				return
			}
			if !strings.HasPrefix(cfg.UserData, "\x1f\x8b") || cfg.JobID != "42" {
				t.Errorf("the launch configuration carries no gzip-compressed user data (%d bytes) or another job (%q)", len(cfg.UserData), cfg.JobID)
			}
			want := "e2c: provisioning the builder with keys made for job 42: host key " + ssh.FingerprintSHA256(pub) + " (pinned), user data "
			if !strings.HasPrefix(line, want) || !strings.HasSuffix(line, tt.line) {
				t.Errorf("line %q, want %q… %q", line, want, tt.line)
			}
			for _, secret := range []string{keys.ClientPrivate, keys.HostPrivate} {
				if strings.Contains(line, strings.TrimSpace(secret)) {
					t.Error("the line holds a private key")
				}
			}
			if b.Config.UserData != "" {
				t.Error("ProvisionJob changed the resolved configuration")
			}
		})
	}
	// user data only runs at the first boot of a launched instance
	existing, _ := settings(func(s *Settings) {
		s.Strategy, s.LaunchTemplateID, s.InstanceID = StrategyExisting, "", "i-0123456789abcdef0"
	}).config()
	b := Builder{Config: existing}
	if _, _, err := b.ProvisionJob(keys); err == nil || !strings.Contains(err.Error(), "user data runs only at the first boot") {
		t.Errorf("user data for an existing instance: %v", err)
	}
}

func TestJobIDAndRoleSessionName(t *testing.T) {
	now := time.Unix(1, 5)
	if got := JobID("981", now); got != "981" {
		t.Errorf("JobID of a CI job: %q", got)
	}
	if got := JobID("", now); got != "local-1000000005" {
		t.Errorf("JobID outside CI: %q", got)
	}
	for _, tt := range []struct{ given, pipeline, job, want string }{
		{"mine", "7", "8", "mine"},
		{"", "7", "8", "shipyard-7-8"},
		{"", "7", "", "shipyard-local"},
		{"", "", "", "shipyard-local"},
	} {
		if got := RoleSessionName(tt.given, tt.pipeline, tt.job); got != tt.want {
			t.Errorf("RoleSessionName(%q, %q, %q) = %q, want %q", tt.given, tt.pipeline, tt.job, got, tt.want)
		}
	}
}

func TestBuilderFacts(t *testing.T) {
	tests := []struct {
		provision, console bool
		file, what         string
	}{
		{true, false, provision.ReadyFile, "provisioned, SSH verified with the pinned host key"},
		{false, false, "", "SSH verified with the pinned host key"},
		{false, true, "", "SSH verified with the host key pinned from its console"},
	}
	for _, tt := range tests {
		if file, what := (Builder{Provision: tt.provision, PinFromConsole: tt.console}).Readiness(); file != tt.file || what != tt.what {
			t.Errorf("provision %v: readiness %q %q, want %q %q", tt.provision, file, what, tt.file, tt.what)
		}
	}
	b := Builder{Config: Config{Region: "eu-west-1", JobID: "9", UseSpot: true}}
	st := b.FallbackState()
	if diff := cmp.Diff(State{Strategy: StrategyQEMUFallback, Region: "eu-west-1", JobID: "9"}, st); diff != "" {
		t.Errorf("fallback state (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		st   State
		want bool
	}{
		{st, true},
		{State{Strategy: StrategyTemplate}, true},
		{State{Strategy: StrategyTemplate, InstanceID: "i-1"}, false},
	} {
		if got := tt.st.NoBuilder(); got != tt.want {
			t.Errorf("%+v: NoBuilder %v, want %v", tt.st, got, tt.want)
		}
	}
	if c := b.Config.OnDemand(); c.UseSpot || !b.Config.UseSpot {
		t.Error("OnDemand keeps spot, or changed the configuration it was called on")
	}
}

func TestSSHKeys(t *testing.T) {
	keys := jobKeys(t)
	given := SSHKeys{Client: keys.ClientPrivate, Host: keys.HostPublic}
	inState := State{InstanceID: "i-1", SSHPrivateKey: keys.ClientPrivate, SSHHostKey: keys.HostPublic}
	adopt := []struct {
		name               string
		provision, console bool
		st                 State
		want               SSHKeys
		err                string
	}{
		{"the keys setup made", true, false, inState, given, ""},
		{"a provisioned builder's state without them", true, false, State{InstanceID: "i-1"}, SSHKeys{}, "the state file .e2c_instance_state_42 names instance i-1 but not the keys"},
		{"no builder (no capacity)", true, false, State{Strategy: StrategyQEMUFallback}, SSHKeys{}, ""},
		{"an image with its own keys: given again", false, false, State{InstanceID: "i-1"}, SSHKeys{}, ""},
		{"the host key setup pinned from the console; the client key given again", false, true,
			State{InstanceID: "i-1", Strategy: StrategyExisting, SSHHostKey: keys.HostPublic}, SSHKeys{Host: keys.HostPublic}, ""},
		{"a console-pinned builder's state without its host key", false, true, State{InstanceID: "i-1", Strategy: StrategyExisting}, SSHKeys{},
			"the state file .e2c_instance_state_42 names instance i-1 but not the host key setup pinned from its console"},
		{"no builder for a console-pinned job", false, true, State{Strategy: StrategyQEMUFallback}, SSHKeys{}, ""},
	}
	for _, tt := range adopt {
		got, err := (Builder{Provision: tt.provision, PinFromConsole: tt.console, Config: Config{JobID: "42"}}).AdoptKeys(tt.st)
		if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) || got != tt.want {
			t.Errorf("%s: %v, %v; want the keys %v and an error with %q", tt.name, got == given, err, tt.want == given, tt.err)
		}
	}

	encoded := base64.StdEncoding.EncodeToString([]byte(keys.ClientPrivate))
	if got := GivenKeys(encoded, keys.HostPublic); got.Client != keys.ClientPrivate || got.Host != keys.HostPublic {
		t.Error("GivenKeys does not decode a base64 private key")
	}

	usable := []struct {
		name string
		k    SSHKeys
		err  string
	}{
		{"both", SSHKeys{Client: keys.ClientPrivate, Host: " " + keys.HostPublic + "\n"}, ""},
		{"no client key", SSHKeys{Host: keys.HostPublic}, "no SSH keys for the builder: run arm-builder setup first"},
		{"no host key", SSHKeys{Client: keys.ClientPrivate}, "no SSH keys for the builder"},
		{"a private key that is none", SSHKeys{Client: "not a key", Host: keys.HostPublic}, "the SSH key secret is not a valid private key"},
		{"a host key that is none", SSHKeys{Client: keys.ClientPrivate, Host: "ssh-ed25519 !!!"}, "--ssh-host-key is not an SSH public key line"},
	}
	for _, tt := range usable {
		target, err := tt.k.Target("203.0.113.5:22", "admin")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want one with %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if target.Addr != "203.0.113.5:22" || target.User != "admin" ||
			strings.TrimSpace(string(ssh.MarshalAuthorizedKey(target.HostKey))) != strings.Join(strings.Fields(keys.HostPublic)[:2], " ") {
			t.Errorf("%s: target %s %s pins %s", tt.name, target.Addr, target.User, ssh.MarshalAuthorizedKey(target.HostKey))
		}
		if k, _ := tt.k.Usable(); k.Host != keys.HostPublic {
			t.Errorf("%s: the host key line is not trimmed: %q", tt.name, k.Host)
		}
	}
}

func TestCleanupVerdict(t *testing.T) {
	tests := []struct {
		name  string
		st    State
		found bool
		prune bool
		why   string
	}{
		{"no state file", State{}, false, false, "e2c cleanup: no builder instance for this job: nothing to clean"},
		{"no builder (no capacity)", State{Strategy: StrategyQEMUFallback}, true, false, "e2c cleanup: no builder instance for this job: nothing to clean"},
		{"a launched instance", State{InstanceID: "i-1", Strategy: StrategyTemplate}, true, false, "e2c cleanup: instance i-1 is terminated at teardown: nothing to clean"},
		{"the existing instance", State{InstanceID: "i-1", Strategy: StrategyExisting}, true, true, ""},
	}
	for _, tt := range tests {
		if prune, why := CleanupVerdict(tt.st, tt.found); prune != tt.prune || why != tt.why {
			t.Errorf("%s: %v %q, want %v %q", tt.name, prune, why, tt.prune, tt.why)
		}
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }
