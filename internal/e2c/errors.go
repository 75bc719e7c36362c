package e2c

import (
	"errors"

	"shipyard/internal/awsapi"
)

// Sentinel errors callers tell apart with errors.Is.
var (
	// ErrNoCapacity means every subnet and market (spot, then on-demand) lacked capacity; fall back to QEMU with a warning.
	ErrNoCapacity = errors.New("no EC2 capacity for the builder")
	// ErrTimeout means an instance did not reach the wanted state (or get a public IP) within Config.WaitTimeout.
	ErrTimeout = errors.New("timed out waiting for the EC2 instance")
	// ErrHostKeyMismatch means the SSH server presented a host key other than the expected one.
	ErrHostKeyMismatch = errors.New("SSH host key mismatch")
	// ErrSSHAuth means the SSH server rejected the client key.
	ErrSSHAuth = errors.New("SSH authentication failed")
	// ErrSSHTimeout means no SSH session could be completed within the timeout.
	ErrSSHTimeout = errors.New("SSH not reachable in time")
	// ErrNotReady means the builder answers SSH with the pinned host key but its readiness file
	// (provision.ReadyFile) does not exist yet.
	ErrNotReady = errors.New("the builder is not ready")
	// ErrNotRunning means the instance does not run (Manager.Locate): it holds no lease then,
	// since a stop empties the lease directory with the rest of its /run.
	ErrNotRunning = errors.New("the instance does not run, so it holds no lease")
)

// EC2 API error codes this package reacts to.
const (
	codeNotFound       = "InvalidInstanceID.NotFound"
	codeIncorrectState = "IncorrectInstanceState"
)

// capacityCodes are RunInstances errors that another subnet or the other
// market (on-demand instead of spot) may not have.
var capacityCodes = map[string]bool{
	"InsufficientInstanceCapacity":      true,
	"InsufficientHostCapacity":          true,
	"InsufficientCapacity":              true,
	"UnfulfillableCapacity":             true,
	"InsufficientFreeAddressesInSubnet": true,
	"SpotMaxPriceTooLow":                true,
	"MaxSpotInstanceCountExceeded":      true,
	"Unsupported":                       true,
}

// apiCode returns the EC2 error code carried by err, or "".
func apiCode(err error) string { return awsapi.CodeOf(err) }
