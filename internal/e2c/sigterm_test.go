//go:build full

package e2c

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"shipyard/internal/awsapi"
)

// Environment of the helper process: the JSON Config and the state path.
const (
	helperConfigEnv = "E2C_HELPER_SETUP_CONFIG"
	helperStateEnv  = "E2C_HELPER_SETUP_STATE"
)

// helperSetup is the child process of TestSetupSIGTERM (the test binary
// re-executed, dispatched from TestMain): it runs Setup against moto the way
// a CI job does, writing the state file from onState, prints "ready" and
// then "builds" until it is killed.
func helperSetup() int {
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv(helperConfigEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "helper: bad config:", err)
		return 2
	}
	statePath := os.Getenv(helperStateEnv)
	ctx := context.Background()
	c, err := awsapi.New(cfg.Region, os.Getenv("E2C_MOTO_URL"), awsapi.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	m := NewManager(c, cfg, func(s string) { fmt.Fprintln(os.Stderr, s) })
	if _, err := m.Setup(ctx, func(s State) error { return WriteState(statePath, s) }); err != nil {
		fmt.Fprintln(os.Stderr, "helper: Setup:", err)
		return 1
	}
	fmt.Println("ready")
	time.Sleep(time.Hour) // the build, until the job is cancelled
	return 0
}

// runKilledSetup starts the helper for cfg and sends it SIGTERM after delay,
// or once it is ready when delay is negative; it returns how long the helper
// took to become ready (0 if it never did).
func runKilledSetup(t *testing.T, cfg Config, statePath string, delay time.Duration) time.Duration {
	t.Helper()
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperConfigEnv+"="+string(js), helperStateEnv+"="+statePath, "E2C_MOTO_URL="+motoURL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the helper: %v", err)
	}
	ready := make(chan time.Duration, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- time.Since(start)
			}
		}
		close(ready)
	}()
	var readyAfter time.Duration
	if delay < 0 {
		select {
		case readyAfter = <-ready:
		case <-time.After(time.Minute):
			t.Errorf("helper not ready after a minute; stderr:\n%s", stderr.String())
		}
	} else {
		time.Sleep(delay)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("SIGTERM: %v", err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("helper ended with %v, want death by SIGTERM; stderr:\n%s", err, stderr.String())
	}
	if readyAfter == 0 {
		readyAfter = <-ready // zero if it never got there
	}
	return readyAfter
}

// TestSetupSIGTERM kills a job at random points of Setup, runs the
// after_script logic (Cleanup) and checks that nothing of the job still runs.
func TestSetupSIGTERM(t *testing.T) {
	const trials = 24
	c := newMotoClient(t)
	seed := time.Now().UnixNano()
	if s := os.Getenv("E2C_SIGTERM_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("E2C_SIGTERM_SEED: %v", err)
		}
	}
	t.Logf("random seed %d (set E2C_SIGTERM_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))

	var span time.Duration // kill delays are drawn from [0, span)
	outcomes := map[string]int{}
	for i := range trials {
		strategy := StrategyTemplate
		if i%2 == 1 {
			strategy = StrategyExisting
		}
		cfg := testConfig(t, c, strategy)
		statePath := filepath.Join(t.TempDir(), StateFileName(cfg.JobID))

		// Trial 0 measures how long a whole Setup takes here; later kills land anywhere in it.
		delay := time.Duration(-1)
		if i > 0 {
			delay = time.Duration(rng.Int64N(int64(span)))
		}
		readyAfter := runKilledSetup(t, cfg, statePath, delay)
		if i == 0 {
			if readyAfter == 0 {
				t.Fatal("the calibration run never became ready")
			}
			span = readyAfter * 5 / 4
			t.Logf("a full Setup in the helper takes %s; kills land in [0, %s)", readyAfter, span)
		}

		outcome := "no state file"
		if s, err := ReadState(statePath); err == nil {
			outcome = fmt.Sprintf("state file (public IP known: %t)", s.PublicIP != "")
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("trial %d: unreadable state file: %v", i, err)
		}

		// The after_script.
		var ll logLines
		n, err := NewManager(c, cfg, ll.add).Cleanup(context.Background(), statePath, cfg.JobID)
		if err != nil {
			t.Errorf("trial %d (%s, killed after %s, %s): Cleanup: %v", i, strategy, delay, outcome, err)
		}
		if live := jobInstances(t, c, cfg.Project, cfg.JobID, "pending", "running"); len(live) != 0 {
			t.Errorf("trial %d (%s, killed after %s, %s): instances %v of the job still run; cleanup log: %q", i, strategy, delay, outcome, live, ll.lines)
		}
		if strategy == StrategyExisting {
			if got := instance(t, c, cfg.InstanceID).State; got != stateStopped {
				t.Errorf("trial %d (existing, killed after %s, %s): the existing instance is %s, want stopped", i, delay, outcome, got)
			}
		}
		outcomes[fmt.Sprintf("%s, %s, %d torn down", strategy, outcome, n)]++
	}
	t.Logf("outcomes over %d trials: %v", trials, outcomes)
}
