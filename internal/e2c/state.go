package e2c

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// State records the instance a job uses, so that a later step (the job's
// after_script) can tear it down; it is stored in the seed's KEY=VALUE form
// (FormatState).
type State struct {
	// InstanceID is the EC2 instance id.
	InstanceID string `json:"instance_id"`
	// PublicIP is the instance's public address; empty until the instance is running.
	PublicIP string `json:"public_ip,omitempty"`
	// Strategy is the strategy that produced the instance (StrategyExisting or StrategyTemplate).
	Strategy string `json:"strategy"`
	// Region is the AWS region of the instance.
	Region string `json:"region"`
	// JobID is the CI job the instance belongs to.
	JobID string `json:"job_id"`
	// Spot tells whether the instance is a spot instance.
	Spot bool `json:"spot"`
	// InstanceType is the instance's type as EC2 describes it once it runs (not kept in the
	// state file).
	InstanceType string `json:"-"`
	// LaunchedAt is when the instance was launched or started.
	LaunchedAt time.Time `json:"launched_at"`
	// SSHHostKey is the host key to pin ("ssh-ed25519 AAAA…") when the module generated this
	// job's keys and provisioned the instance with them; empty when the keys were given.
	SSHHostKey string `json:"ssh_host_key,omitempty"`
	// SSHPrivateKey is this job's generated client key (OpenSSH PEM), so that the job's later
	// phases log in with it; empty when the keys were given. It is good for this job's instance
	// only, which teardown terminates.
	SSHPrivateKey string `json:"-"`
	// Runs32BitARM tells whether the builder's CPU runs 32-bit ARM code; nil until it was asked.
	Runs32BitARM *bool `json:"-"`
}

// StateFileName is the name of the file that holds a job's State.
func StateFileName(jobID string) string {
	return ".e2c_instance_state_" + jobID
}

// WriteState stores s at path atomically (a temporary file in the same
// directory renamed over path), so a reader never sees a partial file.
func WriteState(path string, s State) error {
	if s.InstanceID == "" {
		return fmt.Errorf("writing state %s: the state has no instance id", path)
	}
	data := []byte(FormatState(s))
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing state %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing state %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("flushing state %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing state %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replacing state %s: %w", path, err)
	}
	return nil
}

// ReadState loads the State stored at path; a missing file yields an error
// matching fs.ErrNotExist.
func ReadState(path string) (State, error) {
	var s State
	data, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("reading state: %w", err)
	}
	if s, err = ParseState(data); err != nil {
		return State{}, fmt.Errorf("parsing state %s: %w (delete the file and tear down by job tag instead)", path, err)
	}
	return s, nil
}
