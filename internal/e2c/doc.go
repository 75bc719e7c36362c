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
// the reaper (Manager.Reap). Teardown reads those tags before it acts: it
// terminates only an instance launched from the template for this project,
// and stops only the configured instance or one started for this project,
// whatever a state file names. The existing strategy's instance is shared by the jobs that run at
// once: each holds a Lease on it (a file on the builder, under flock; internal/lease), and only
// the last to give it back stops the instance, and only a job holding it alone prunes its cache.
//
// The module's with-arm-… functions hold the settings; as a Settings value they are resolved at
// once by Settings.Resolve, which applies the defaults, decides how the builder gets its SSH keys
// (given, or made for the job) and reports every problem together; Config.Preflight names each
// setting by the seed pipeline's variable (the module's flag says which it stands for):
//
//	AWS_DEFAULT_REGION           AWS region (default eu-north-1)
//	E2C_INSTANCE_STRATEGY        existing | template
//	E2C_INSTANCE_ID              instance of the existing strategy (never terminated)
//	E2C_LAUNCH_TEMPLATE_ID       launch template of the template strategy
//	E2C_LAUNCH_TEMPLATE_VERSION  $Latest, $Default or a number (default: the template's default)
//	E2C_USE_SPOT                 true: one-time spot, falling back to on-demand
//	E2C_SPOT_MAX_PRICE           optional USD/h cap (logged WARNING: raises interruption risk);
//	                             ignored without spot, with a WARNING (Settings.Notes)
//	E2C_SUBNETS                  subnets tried in order on capacity errors (comma separated)
//	E2C_PROJECT                  project tag; CI_PIPELINE_ID, CI_JOB_ID
//	E2C_TTL                      expiry tag = launch + TTL (default 3h; with-arm-instance --ttl)
//	E2C_SSH_USER, E2C_SSH_PORT   login user (default root) and port (default 22)
//	E2C_READY_TIMEOUT            bound of the wait for SSH and readiness once running (default 10m)
//
// The old pipeline's E2C_BUILD_DIR has no meaning here (the builder gets no copy of the project):
// Settings.Notes warns when it is set. SeedVariables maps every variable of the old pipeline's
// document to what shipyard does with it now.
//
// A Config's other bounds have defaults only the tests change: each wait for running/stopped
// (5m), the delay between polls (5s), Cleanup's pause before its second search by tag (10s), and
// E2C_SSH_ADDR_OVERRIDE (Config.SSHAddrOverride).
//
// E2C_SSH_ADDR_OVERRIDE exists for tests against a fake EC2 API such as moto,
// whose public IPs are made up: it points SSH at a local sshd. Setup logs a
// WARNING whenever it is set; never set it in a real pipeline.
//
// The package never imports the Dagger SDK; it talks to EC2 through the small
// EC2API interface, which internal/awsapi's client satisfies (not the AWS SDK:
// its EC2 package alone doubled the module's cold load), and is tested against a
// real moto_server.
package e2c
