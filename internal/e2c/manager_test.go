//go:build full

package e2c

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"shipyard/internal/awsapi"
)

// recordingOnState returns an onState callback that notes each call in h's
// log, writes the state file and keeps the states it saw.
func recordingOnState(t *testing.T, h *hookAPI, path string, seen *[]State) func(State) error {
	return func(s State) error {
		h.record(fmt.Sprintf("onState public-ip=%t", s.PublicIP != ""))
		*seen = append(*seen, s)
		return WriteState(path, s)
	}
}

func TestSetupTemplate(t *testing.T) {
	tests := []struct {
		name          string
		spot          bool
		maxPrice      string
		wantLifecycle string
		wantWarnings  int
	}{
		{name: "on-demand", wantLifecycle: ""},
		{name: "spot without max price", spot: true, wantLifecycle: "spot"},
		{name: "spot with max price", spot: true, maxPrice: "0.05", wantLifecycle: "spot", wantWarnings: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c := newMotoClient(t)
			cfg := testConfig(t, c, StrategyTemplate)
			cfg.UseSpot, cfg.SpotMaxPrice = tt.spot, tt.maxPrice
			if err := cfg.Preflight(); err != nil {
				t.Fatalf("Preflight: %v", err)
			}
			h := &hookAPI{EC2API: c}
			var ll logLines
			m := NewManager(h, cfg, ll.add)
			statePath := filepath.Join(t.TempDir(), StateFileName(cfg.JobID))

			// What moto holds at the first onState call, i.e. before any waiting.
			var atLaunch awsapi.Instance
			var fileAtLaunch State
			var seen []State
			record := recordingOnState(t, h, statePath, &seen)
			before := time.Now().UTC().Truncate(time.Second)
			s, err := m.Setup(ctx, func(s State) error {
				err := record(s)
				if len(seen) == 1 {
					atLaunch = instance(t, c, s.InstanceID)
					fileAtLaunch, _ = ReadState(statePath)
				}
				return err
			})
			after := time.Now().UTC()
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			t.Cleanup(func() { _ = m.Teardown(context.Background(), s) })

			// The state file is written the moment RunInstances returns, before the wait polls anything.
			wantCalls := []string{"RunInstances " + map[bool]string{false: "on-demand", true: "spot"}[tt.spot] + " template-subnet", "onState public-ip=false", "DescribeInstances", "onState public-ip=true"}
			if diff := cmp.Diff(wantCalls, h.log()); diff != "" {
				t.Errorf("call order (-want +got):\n%s", diff)
			}
			if fileAtLaunch.InstanceID != s.InstanceID || fileAtLaunch.PublicIP != "" {
				t.Errorf("state file at launch = %+v, want instance %s without IP", fileAtLaunch, s.InstanceID)
			}

			// Tags are on the instance from the launch on.
			tags := tagMap(atLaunch.Tags)
			expires, perr := time.Parse(time.RFC3339, tags[TagExpiresAt])
			if perr != nil || expires.Before(before.Add(cfg.TTL)) || expires.After(after.Add(cfg.TTL)) {
				t.Errorf("expiry tag %q (%v), want launch time + %s within [%s, %s]", tags[TagExpiresAt], perr, cfg.TTL, before.Add(cfg.TTL), after.Add(cfg.TTL))
			}
			delete(tags, TagExpiresAt)
			for k := range tags {
				if strings.HasPrefix(k, "aws:") {
					delete(tags, k)
				}
			}
			wantTags := map[string]string{
				TagManagedBy: ManagedByValue, TagProject: cfg.Project, TagPipelineID: cfg.PipelineID,
				TagJobID: cfg.JobID, TagStrategy: StrategyTemplate,
			}
			if diff := cmp.Diff(wantTags, tags); diff != "" {
				t.Errorf("tags at launch (-want +got):\n%s", diff)
			}
			if atLaunch.Lifecycle != tt.wantLifecycle {
				t.Errorf("lifecycle = %q, want %q", atLaunch.Lifecycle, tt.wantLifecycle)
			}
			attr, err := sdkClient(t).DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
				InstanceId: aws.String(s.InstanceID), Attribute: types.InstanceAttributeNameInstanceInitiatedShutdownBehavior,
			})
			if err != nil {
				t.Fatalf("DescribeInstanceAttribute: %v", err)
			}
			if got := aws.ToString(attr.InstanceInitiatedShutdownBehavior.Value); got != "terminate" {
				t.Errorf("shutdown behaviour = %q, want terminate", got)
			}
			ll.expect(t, "WARNING: spot max price", tt.wantWarnings)

			now := instance(t, c, s.InstanceID)
			want := State{
				InstanceID: s.InstanceID, PublicIP: now.PublicIP, Strategy: StrategyTemplate,
				Region: testRegion, JobID: cfg.JobID, Spot: tt.spot, LaunchedAt: seen[0].LaunchedAt,
				InstanceType: now.Type,
			}
			if diff := cmp.Diff(want, s); diff != "" {
				t.Errorf("Setup state (-want +got):\n%s", diff)
			}
			if now.Type == "" {
				t.Errorf("moto reports no instance type for %s; the state's type cannot be checked", s.InstanceID)
			}
			if want.PublicIP == "" || now.State != stateRunning {
				t.Errorf("instance is %s with IP %q, want running with a public IP", now.State, want.PublicIP)
			}
			fromFile, err := ReadState(statePath)
			if err != nil {
				t.Fatal(err)
			}
			// The file keeps the seed's fields only; the instance type is not one of them.
			wantFile := want
			wantFile.InstanceType = ""
			if diff := cmp.Diff(wantFile, fromFile); diff != "" {
				t.Errorf("state file (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetupExisting(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)
	cfg := testConfig(t, c, StrategyExisting)
	h := &hookAPI{EC2API: c}
	var ll logLines
	m := NewManager(h, cfg, ll.add)
	var seen []State
	s, err := m.Setup(ctx, recordingOnState(t, h, filepath.Join(t.TempDir(), StateFileName(cfg.JobID)), &seen))
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	id := cfg.InstanceID
	wantCalls := []string{"CreateTags " + id, "DescribeInstances", "StartInstances " + id, "onState public-ip=false", "DescribeInstances", "onState public-ip=true"}
	if diff := cmp.Diff(wantCalls, h.log()); diff != "" {
		t.Errorf("call order (-want +got):\n%s", diff)
	}
	inst := instance(t, c, id)
	if inst.State != stateRunning || s.PublicIP == "" || s.PublicIP != inst.PublicIP {
		t.Errorf("instance %s, state IP %q, instance IP %q: want running with the state's IP", inst.State, s.PublicIP, inst.PublicIP)
	}
	tags := tagMap(inst.Tags)
	if tags[TagJobID] != cfg.JobID || tags[TagStrategy] != StrategyExisting || tags[TagProject] != cfg.Project {
		t.Errorf("tags %v, want job %s, strategy existing, project %s", tags, cfg.JobID, cfg.Project)
	}

	// Teardown stops it; a second teardown finds it stopped and does nothing.
	for i := range 2 {
		h.reset()
		if err := m.Teardown(ctx, s); err != nil {
			t.Fatalf("Teardown #%d: %v", i+1, err)
		}
		if got := instance(t, c, id).State; got != stateStopped {
			t.Fatalf("after teardown #%d the instance is %s, want stopped", i+1, got)
		}
	}
	if diff := cmp.Diff([]string{"DescribeInstances"}, h.log()); diff != "" {
		t.Errorf("second teardown calls (-want +got):\n%s", diff)
	}
	ll.expect(t, "already stopped", 1)
}

func TestSetupExistingWaitsForStoppingInstance(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)
	cfg := testConfig(t, c, StrategyExisting)
	h := &hookAPI{EC2API: c, startErr: func(n int) error {
		if n == 1 {
			return &awsapi.APIError{Action: "StartInstances", Code: codeIncorrectState, Message: "The instance is not in a state from which it can be started.", StatusCode: 400}
		}
		return nil
	}}
	m := NewManager(h, cfg, nil)
	s, err := m.Setup(ctx, nil)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() { _ = m.Teardown(context.Background(), s) })
	id := cfg.InstanceID
	want := []string{"CreateTags " + id, "DescribeInstances", "StartInstances " + id, "DescribeInstances", "StartInstances " + id, "DescribeInstances"}
	if diff := cmp.Diff(want, h.log()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if got := instance(t, c, id).State; got != stateRunning {
		t.Errorf("instance is %s, want running", got)
	}
}

// StartAgain, after the lease said another job is stopping the shared instance: it waits for
// the stop, then starts the instance again.
func TestStartAgainWaitsForTheStop(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)
	cfg := testConfig(t, c, StrategyExisting)
	m := NewManager(c, cfg, nil)
	s, err := m.Setup(ctx, nil) // the other job's start
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() { _ = m.Teardown(context.Background(), s) })
	stopped := make(chan time.Time, 1)
	go func() {
		time.Sleep(300 * time.Millisecond) // the other job's teardown, a moment later
		if _, err := c.StopInstances(ctx, cfg.InstanceID); err != nil {
			t.Errorf("StopInstances: %v", err)
		}
		stopped <- time.Now()
	}()
	h := &hookAPI{EC2API: c}
	again, err := NewManager(h, cfg, nil).StartAgain(ctx)
	if err != nil {
		t.Fatalf("StartAgain: %v", err)
	}
	done := time.Now()
	if at := <-stopped; done.Before(at) {
		t.Errorf("StartAgain returned %v before the instance was stopped", at.Sub(done))
	}
	if got := instance(t, c, cfg.InstanceID); got.State != stateRunning || again.PublicIP != got.PublicIP {
		t.Errorf("instance %s at %q, state's IP %q: want running at the state's IP", got.State, got.PublicIP, again.PublicIP)
	}
	if !slices.Contains(h.log(), "StartInstances "+cfg.InstanceID) {
		t.Errorf("calls %v: no start after the stop", h.log())
	}
	// Locate reads the address of the running instance, and refuses a stopped one
	if st, err := m.Locate(ctx, State{InstanceID: cfg.InstanceID}); err != nil || st.PublicIP != again.PublicIP {
		t.Errorf("Locate = %+v, %v; want the public IP %s", st, err, again.PublicIP)
	}
	if err := m.Teardown(ctx, again); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Locate(ctx, State{InstanceID: cfg.InstanceID}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Locate of the stopped instance = %v, want ErrNotRunning", err)
	}
}

// StartAgain when the job stopping the instance died before it could: the instance still runs
// at the wait's deadline, and is only tagged for this job.
func TestStartAgainWhenNobodyStopsIt(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)
	cfg := testConfig(t, c, StrategyExisting)
	cfg.WaitTimeout = 300 * time.Millisecond
	var ll logLines
	m := NewManager(c, cfg, ll.add)
	s, err := m.Setup(ctx, nil)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() { _ = m.Teardown(context.Background(), s) })
	h := &hookAPI{EC2API: c}
	again, err := NewManager(h, cfg, ll.add).StartAgain(ctx)
	if err != nil {
		t.Fatalf("StartAgain: %v", err)
	}
	// a running instance is not started again: it keeps its public address (and a job that read
	// it before is not sent elsewhere)
	if again.InstanceID != s.InstanceID || again.PublicIP != s.PublicIP || instance(t, c, cfg.InstanceID).State != stateRunning {
		t.Errorf("StartAgain = %+v, want instance %s running at %s, its address before", again, s.InstanceID, s.PublicIP)
	}
	if slices.Contains(h.log(), "StartInstances "+cfg.InstanceID) {
		t.Errorf("calls %v: StartInstances on a running instance", h.log())
	}
	ll.expect(t, "the job stopping it gave up: starting it as it is", 1)
	ll.expect(t, "is already running (started by another job or by hand): not starting it", 1)
}

func TestSetupWaitTimeout(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)
	cfg := testConfig(t, c, StrategyTemplate)
	cfg.WaitTimeout = 300 * time.Millisecond
	// moto runs instances at once; make them look stuck in pending.
	h := &hookAPI{EC2API: c, editDescribe: func(insts []awsapi.Instance) {
		for i := range insts {
			insts[i].State = statePending
		}
	}}
	var ll logLines
	s, err := NewManager(h, cfg, ll.add).Setup(ctx, nil)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "still pending") || !strings.Contains(err.Error(), "console output") {
		t.Fatalf("Setup error = %v, want ErrTimeout saying the instance is still pending and where to look", err)
	}
	if s.InstanceID == "" {
		t.Fatal("Setup returned no instance id with the timeout")
	}
	if got := instance(t, c, s.InstanceID).State; got != stateTerminated {
		t.Errorf("after the timeout the instance is %s, want terminated by Setup", got)
	}
}

// TestSetupRidesOutThrottledPolls: the waits for the instance go on polling when EC2 keeps
// throttling past the client's own retries, instead of ending setup.
func TestSetupRidesOutThrottledPolls(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)
	cfg := testConfig(t, c, StrategyTemplate)
	throttled := &awsapi.APIError{Action: "DescribeInstances", Code: "RequestLimitExceeded", Message: "Request limit exceeded.", StatusCode: 503}
	h := &hookAPI{EC2API: c, describeErr: func(n int) error {
		if n <= 3 {
			return fmt.Errorf("giving up after 25 attempts: %w", throttled)
		}
		return nil
	}}
	var ll logLines
	s, err := NewManager(h, cfg, ll.add).Setup(ctx, nil)
	if err != nil {
		t.Fatalf("Setup with the first polls throttled: %v", err)
	}
	if got := instance(t, c, s.InstanceID).State; got != stateRunning {
		t.Errorf("instance %s is %s, want running", s.InstanceID, got)
	}
	if h.describes <= 3 {
		t.Errorf("%d DescribeInstances calls, want more than the 3 throttled ones", h.describes)
	}
}

// defaultSubnets returns two of moto's default subnets, ordered by zone.
func defaultSubnets(t *testing.T) []string {
	t.Helper()
	out, err := sdkClient(t).DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{
		Filters: []types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}},
	})
	if err != nil {
		t.Fatalf("DescribeSubnets: %v", err)
	}
	slices.SortFunc(out.Subnets, func(a, b types.Subnet) int {
		return strings.Compare(aws.ToString(a.AvailabilityZone), aws.ToString(b.AvailabilityZone))
	})
	if len(out.Subnets) < 2 {
		t.Fatalf("moto has %d default subnets, want at least 2", len(out.Subnets))
	}
	return []string{aws.ToString(out.Subnets[0].SubnetId), aws.ToString(out.Subnets[1].SubnetId)}
}

func TestSetupCapacityFallback(t *testing.T) {
	c := newMotoClient(t)
	sn := defaultSubnets(t)
	capacity := func(code string) error {
		return &awsapi.APIError{Action: "RunInstances", Code: code, Message: "injected by the test", StatusCode: 500}
	}
	tests := []struct {
		name       string
		spot       bool
		subnets    []string
		fail       func(awsapi.RunInput) error
		wantRuns   []string
		wantErr    error  // nil = success
		wantSubnet string // where the instance ends up
		wantSpot   bool
	}{
		{
			name: "spot and first subnet full, on-demand in second subnet", spot: true, subnets: sn,
			fail: func(in awsapi.RunInput) error {
				if in.Spot {
					return capacity("InsufficientInstanceCapacity")
				}
				if in.SubnetID == sn[0] {
					return capacity("InsufficientInstanceCapacity")
				}
				return nil
			},
			wantRuns:   []string{"spot " + sn[0], "spot " + sn[1], "on-demand " + sn[0], "on-demand " + sn[1]},
			wantSubnet: sn[1],
		},
		{
			name: "spot in second subnet", spot: true, subnets: sn,
			fail: func(in awsapi.RunInput) error {
				if in.SubnetID == sn[0] {
					return capacity("Unsupported")
				}
				return nil
			},
			wantRuns:   []string{"spot " + sn[0], "spot " + sn[1]},
			wantSubnet: sn[1], wantSpot: true,
		},
		{
			name: "spot price too low, no subnets, on-demand", spot: true,
			fail: func(in awsapi.RunInput) error {
				if in.Spot {
					return capacity("SpotMaxPriceTooLow")
				}
				return nil
			},
			wantRuns: []string{"spot template-subnet", "on-demand template-subnet"},
		},
		{
			name: "no capacity anywhere", spot: true, subnets: sn,
			fail:     func(awsapi.RunInput) error { return capacity("InsufficientInstanceCapacity") },
			wantRuns: []string{"spot " + sn[0], "spot " + sn[1], "on-demand " + sn[0], "on-demand " + sn[1]},
			wantErr:  ErrNoCapacity,
		},
		{
			name: "other errors are not capacity", spot: true, subnets: sn,
			fail:     func(awsapi.RunInput) error { return capacity("UnauthorizedOperation") },
			wantRuns: []string{"spot " + sn[0]},
			wantErr:  errUnauthorized,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, c, StrategyTemplate)
			cfg.UseSpot, cfg.Subnets = tt.spot, tt.subnets
			h := &hookAPI{EC2API: c, runErr: tt.fail}
			m := NewManager(h, cfg, nil)
			s, err := m.Setup(context.Background(), nil)
			var runs []string
			for _, call := range h.log() {
				if r, ok := strings.CutPrefix(call, "RunInstances "); ok {
					runs = append(runs, r)
				}
			}
			if diff := cmp.Diff(tt.wantRuns, runs); diff != "" {
				t.Errorf("RunInstances attempts (-want +got):\n%s", diff)
			}
			switch {
			case tt.wantErr == errUnauthorized:
				if err == nil || errors.Is(err, ErrNoCapacity) || apiCode(err) != "UnauthorizedOperation" {
					t.Fatalf("Setup error = %v, want the UnauthorizedOperation error and not ErrNoCapacity", err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Setup error = %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("Setup: %v", err)
			}
			if tt.wantErr != nil {
				if live := jobInstances(t, c, cfg.Project, cfg.JobID, liveStates...); len(live) != 0 {
					t.Errorf("instances %v exist for the job after a failed setup", live)
				}
				return
			}
			t.Cleanup(func() { _ = m.Teardown(context.Background(), s) })
			inst := instance(t, c, s.InstanceID)
			gotSpot := inst.Lifecycle == "spot"
			if gotSpot != tt.wantSpot || s.Spot != tt.wantSpot {
				t.Errorf("instance lifecycle %q, state spot %t; want spot %t", inst.Lifecycle, s.Spot, tt.wantSpot)
			}
			if tt.wantSubnet != "" && inst.SubnetID != tt.wantSubnet {
				t.Errorf("instance in subnet %s, want %s", inst.SubnetID, tt.wantSubnet)
			}
		})
	}
}

// errUnauthorized marks the table case that expects a non-capacity API error.
var errUnauthorized = errors.New("UnauthorizedOperation")

func TestSetupTearsDownWhenStateCannotBeRecorded(t *testing.T) {
	c := newMotoClient(t)
	cfg := testConfig(t, c, StrategyTemplate)
	diskFull := errors.New("no space left on device")
	s, err := NewManager(c, cfg, nil).Setup(context.Background(), func(State) error { return diskFull })
	if !errors.Is(err, diskFull) || s.InstanceID == "" {
		t.Fatalf("Setup = %+v, %v; want the instance and the onState error", s, err)
	}
	if got := instance(t, c, s.InstanceID).State; got != stateTerminated {
		t.Errorf("instance is %s, want terminated because its state could not be recorded", got)
	}
}
