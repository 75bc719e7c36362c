package e2c

// SeedVariable is one variable that the document of the pipeline shipyard replaces ("CI/CD
// Pipeline", with its ci_e2c_manager.sh and ci_latest_manager.sh) lists, and what shipyard does
// with it now, for teams migrating from it.
type SeedVariable struct {
	// Name is the variable's name.
	Name string
	// Flag is the module's setting that reads it, as the shipyard() function of .gitlab-ci.yml
	// and templates/shipyard.yml passes it: "with-arm-instance --use-spot", or a constructor flag
	// alone ("--release-registry"); "" when no flag reads it.
	Flag string
	// StateKey: it is a key of a job's state file (.e2c_instance_state_<CI_JOB_ID>), which
	// arm-builder setup writes and the later phases read (FormatState, ParseState).
	StateKey bool
	// Warning says when the run prints a WARNING note that it is ignored, once with the plan's
	// notes; "" when it never is.
	Warning string
	// Now says what it does now, in Markdown: its default, when it is ignored, what fails the
	// preflight.
	Now string
}

// SeedVariables are the variables the old pipeline's document lists, in its order, each with what
// shipyard does with it now; docs/gitlab-ci.md's "The old pipeline's variables" has a row of each.
var SeedVariables = []SeedVariable{
	{Name: "E2C_USAGE", Flag: "with-old-pipeline --usage", Warning: "with ARM_BUILDER=qemu, which wins",
		Now: "`\"true\"` builds the ARM images on the EC2 builder (as `ARM_BUILDER=ec2`) and, when neither `BUILD_ARM64` nor `BUILD_ARMV7` is `\"true\"`, linux/arm64 (as `BUILD_ARM64=true`), as the old pipeline's EC2 build did; an `ARM_BUILDER` that is set wins (`qemu`: a WARNING note). `\"false\"` or unset changes nothing; any other value fails the preflight."},
	{Name: "E2C_INSTANCE_STRATEGY", Flag: "with-arm-instance --instance-strategy", StateKey: true,
		Now: "`" + StrategyTemplate + "` (default) or `" + StrategyExisting + "`, written into the state file; any other value fails the builder's preflight."},
	{Name: "UPDATE_LATEST_STRATEGY", Flag: "with-latest --update-latest-strategy",
		Now: "`auto` (default), `force` or `skip`, the old decision flow; any other value fails the preflight."},
	{Name: "TAG_TYPE_OVERRIDE", Flag: "with-latest --tag-type-override",
		Now: "`annotated` or `lightweight` skips the tag type detection; any other value fails the preflight."},
	{Name: "RELEASE_REGISTRY_IMAGE", Flag: "--release-registry",
		Now: "The release registry's image prefix: images are released as `<prefix>/<project>-<target>`."},
	{Name: "E2C_INSTANCE_ID", Flag: "with-arm-instance --instance-id",
		Now: "The instance the `existing` strategy starts and stops; required with it."},
	{Name: "E2C_LAUNCH_TEMPLATE_ID", Flag: "with-arm-instance --launch-template-id",
		Now: "The launch template the `template` strategy launches from (the instance is terminated after); required with it."},
	{Name: "CI_JOB_ID", Flag: "with-gitlab --job-id", StateKey: true,
		Now: "Names the state file `.e2c_instance_state_$CI_JOB_ID`, tags the instance, and is written into the state file too."},
	{Name: "TARGET_INSTANCE_ID", StateKey: true,
		Now: "The instance, written by `arm-builder setup`, read by `build`, `cleanup` and `teardown`."},
	{Name: "E2C_PUBLIC_IP", StateKey: true,
		Now: "The instance's public IP, where the later phases reach it."},
	{Name: "AWS_ACCESS_KEY_ID", Flag: "with-arm-access --aws-access-key-id",
		Now: "EC2 credentials, a secret (`env:AWS_ACCESS_KEY_ID`); not needed with an IAM role (`AWS_ROLE_ARN`)."},
	{Name: "AWS_SECRET_ACCESS_KEY", Flag: "with-arm-access --aws-secret-access-key",
		Now: "EC2 credentials, a secret (`env:AWS_SECRET_ACCESS_KEY`); not needed with an IAM role."},
	{Name: "AWS_DEFAULT_REGION", Flag: "with-arm-instance --region",
		Now: "The builder's region (default `" + DefaultRegion + "`); a malformed name fails the builder's preflight."},
	{Name: "E2C_SSH_USER", Flag: "with-arm-access --ssh-user",
		Now: "The builder's login user (default `" + DefaultSSHUser + "`; the old example `admin` is Debian's)."},
	{Name: "E2C_SSH_PRIVATE_KEY", Flag: "with-arm-access --ssh-private-key", StateKey: true,
		Now: "The client key of an image with its own keys, raw or base64 as the old pipeline kept it (`env:E2C_SSH_PRIVATE_KEY`). Unset with `template`: the module makes keys for each job and writes them, base64, into the state file."},
	{Name: "E2C_BUILD_DIR", Flag: "with-old-pipeline --build-dir", Warning: "whenever it is set",
		Now: "Ignored, with a WARNING note whenever it is set: the builder gets no copy of the project (its engine receives each build's context over SSH), so there is no build directory to make or remove; `cleanup` prunes an `existing` instance's engine cache instead."},
	{Name: "E2C_USE_SPOT", Flag: "with-arm-instance --use-spot",
		Now: "`\"true\"` launches a one-time spot instance (`template`), falling back to on-demand without capacity; with `existing` it fails the builder's preflight."},
	{Name: "E2C_SPOT_MAX_PRICE", Flag: "with-arm-instance --spot-max-price", Warning: "without E2C_USE_SPOT=true",
		Now: "The spot price cap in USD per hour (empty: the on-demand price). Without `E2C_USE_SPOT: \"true\"` it is ignored, with a WARNING note; a value that is not a positive amount fails the builder's preflight."},
}
