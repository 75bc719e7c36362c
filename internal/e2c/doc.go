// Package e2c manages the lifecycle of the EC2 instances that build the
// linux/arm64 images natively instead of under QEMU emulation.
//
// Two strategies are supported. "existing" starts a configured, long-lived
// instance for the job and stops it afterwards. "template" launches a fresh
// instance (optionally spot) from a launch template and terminates it
// afterwards. Every instance the package touches is tagged with the project,
// pipeline, job and an expiry time, so that a job cancelled at any point can
// be cleaned up by its after_script (Manager.Cleanup: the state file if it was
// written, else a search by the job tag) and anything left over is found by
// the reaper (Manager.Reap).
//
// The package never imports the Dagger SDK; it talks to EC2 through the small
// EC2API interface, which *ec2.Client satisfies, and is tested against a real
// moto_server.
package e2c
