//go:build full

package gitlabci_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"shipyard/internal/e2c"
)

// TestCancelledARMJob: the build_arm_ec2 job's script is killed while it builds (as a cancel or a
// runner losing the job process does); its after_script still runs cleanup and teardown, which
// find the builder from the state file its before_script wrote, and terminate it.
func TestCancelledARMJob(t *testing.T) {
	host, cloud, r, vars := stagingPipeline(t, "gl-cancel-")

	statesGlob := filepath.Join(r.dir, ".gitlab-ci-local", "builds", "build_arm_ec2", e2c.StateFileName("*"))
	var mu sync.Mutex
	var killed string
	watch := func(pgid int) {
		for deadline := time.Now().Add(30 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if m, _ := filepath.Glob(statesGlob); len(m) == 0 {
				continue // before_script has not launched the builder yet
			}
			if pid, cmdline := scriptProcess(pgid); pid != 0 {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					mu.Lock()
					killed = cmdline
					mu.Unlock()
				}
				return
			}
		}
	}
	stdout, err := r.runOnEngine(t, host, vars, watch, "build_arm_ec2")
	run := r.jobRun(t, "build_arm_ec2", stdout, err)
	mu.Lock()
	defer mu.Unlock()
	if killed == "" {
		t.Fatalf("the job's build (arm-builder … build) never ran, or ended before it could be killed:\n%s", tail(run.log, 60))
	}
	t.Logf("killed: %s", killed)
	if err == nil {
		t.Fatalf("build_arm_ec2 passed although its script was killed:\n%s", tail(run.log, 40))
	}
	run.wantStatus(t, "FAIL")
	if !strings.Contains(run.log, "torn down") {
		t.Errorf("after_script did not tear the builder down:\n%s", tail(run.log, 60))
	}
	got := cloud.instances(t)
	if len(got[string(types.InstanceStateNameTerminated)]) != 1 {
		t.Errorf("moto's instances after the cancelled job: %v, want the one builder terminated", got)
	}
	cloud.wantNoneRunning(t, "the cancelled job")
}

// scriptProcess finds, in process group pgid, the dagger CLI of the job's script phase
// (`… arm-builder --state-dir=. build`) and returns its pid and command line.
func scriptProcess(pgid int) (int, string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		dir := filepath.Dir(p)
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
		if len(args) < 3 || filepath.Base(args[0]) != "dagger" || args[len(args)-1] != "build" {
			continue
		}
		for _, a := range args {
			if a == "arm-builder" {
				return pid, fmt.Sprint(args)
			}
		}
	}
	return 0, ""
}
