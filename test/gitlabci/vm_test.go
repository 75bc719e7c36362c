//go:build full && vm

package gitlabci_test

import (
	"os/exec"
	"strings"
	"testing"

	"shipyard/internal/testenv"
)

// TestTagPipelineOnArm64VM runs the tag pipeline with only the old pipeline's EC2 variables and
// no SSH key (strategy template): build_arm_ec2 launches its builder through moto on a Debian 12
// arm64 VM (testenv.ServeLaunchedOnVMs) and provisions it with the job's keys; the VM's aarch64
// engine built the arm64 images (its own cache). Build tag vm: outside hack/test's default run
// (the README says why and how to run it); TestDockerExecutorTagPipeline runs the same pipeline there with the
// seed's key variables on an SSH test host.
func TestTagPipelineOnArm64VM(t *testing.T) {
	gitlabCILocal(t)
	needRsync(t)
	host := needEngine(t)
	cloud, fleet := newVMCloud(t)
	tagPipeline(t, host, nil, cloud, fleet)
}

// newVMCloud starts moto with a launch template of a stock arm64 image, and boots a Debian 12
// arm64 virtual machine for every instance launched (testenv.ServeLaunchedOnVMs). Its variables
// are the old pipeline's for strategy template, no SSH key among them, plus what locates this
// world: moto's endpoint, the engine's CLI, the registry mirror the VM pulls through (no registry
// of the internet is reachable here) and a ready timeout for an emulated machine.
func newVMCloud(t *testing.T) (*ec2Cloud, *testenv.Fleet) {
	t.Helper()
	remoteEngineEnv(t) // its relay address (hostIP) is where the VM reaches this machine
	testenv.NeedVMImage(t)
	endpoint := testenv.StartMotoOn(t, hostIP)
	client := testenv.MotoEC2(endpoint)
	template := testenv.ArmLaunchTemplate(t, client)
	fleet := testenv.ServeLaunchedOnVMs(t, client)
	mirrors, err := testenv.EngineMirrors(hostIP + ":5000")
	if err != nil {
		t.Fatal(err)
	}
	dcli, err := exec.LookPath("dagger")
	if err != nil {
		t.Fatal(err)
	}
	return &ec2Cloud{client: client, vars: map[string]*string{
		"BUILD_ARM64": str("true"), "ARM_BUILDER": str("ec2"),
		"E2C_INSTANCE_STRATEGY": str("template"), "E2C_LAUNCH_TEMPLATE_ID": str(template),
		"AWS_ACCESS_KEY_ID": str("testing"), "AWS_SECRET_ACCESS_KEY": str("testing-secret"), "AWS_DEFAULT_REGION": str("eu-north-1"),
		"AWS_ENDPOINT_URL_EC2": str(endpoint),
		"SHIPYARD_DAGGER_CLI":  str(dcli),
		"E2C_REGISTRY_MIRRORS": str(strings.Join(mirrors, " ")),
		"E2C_READY_TIMEOUT":    str("45m"),
	}}, fleet
}
