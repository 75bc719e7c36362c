package e2c

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/awsapi"
)

// memEC2 is an EC2API held in memory, for the teardown tests that need no moto_server: it knows
// the instances it was given, answers DescribeInstances by id (InvalidInstanceID.NotFound for an
// unknown one) or by tag and state filters, applies Stop- and TerminateInstances at once, and
// records every call.
type memEC2 struct {
	mu    sync.Mutex
	insts map[string]*awsapi.Instance
	calls []string
}

func newMemEC2(insts ...awsapi.Instance) *memEC2 {
	f := &memEC2{insts: map[string]*awsapi.Instance{}}
	for _, inst := range insts {
		f.insts[inst.ID] = &inst
	}
	return f
}

func (f *memEC2) record(call string, ids ...string) {
	f.calls = append(f.calls, strings.TrimSpace(call+" "+strings.Join(ids, ",")))
}

func (f *memEC2) state(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.insts[id].State
}

func (f *memEC2) DescribeInstances(_ context.Context, ids []string, filters []awsapi.Filter) ([]awsapi.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("DescribeInstances", ids...)
	var out []awsapi.Instance
	for _, id := range ids {
		inst, ok := f.insts[id]
		if !ok {
			return nil, &awsapi.APIError{Action: "DescribeInstances", Code: codeNotFound, Message: "The instance ID '" + id + "' does not exist", StatusCode: 400}
		}
		out = append(out, *inst)
	}
	if len(ids) > 0 {
		return out, nil
	}
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range f.insts {
			if !yield(id) {
				return
			}
		}
	}) {
		inst := f.insts[id]
		if matches(*inst, filters) {
			out = append(out, *inst)
		}
	}
	return out, nil
}

// matches reports whether inst passes every tag:KEY and instance-state-name filter.
func matches(inst awsapi.Instance, filters []awsapi.Filter) bool {
	for _, flt := range filters {
		got, has := inst.State, true
		if key, ok := strings.CutPrefix(flt.Name, "tag:"); ok {
			got, has = inst.LookupTag(key)
		}
		if !has || !slices.Contains(flt.Values, got) {
			return false
		}
	}
	return true
}

func (f *memEC2) change(action, to string, ids []string) ([]awsapi.StateChange, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(action, ids...)
	var out []awsapi.StateChange
	for _, id := range ids {
		inst, ok := f.insts[id]
		if !ok {
			return nil, &awsapi.APIError{Action: action, Code: codeNotFound, StatusCode: 400}
		}
		out = append(out, awsapi.StateChange{ID: id, Previous: inst.State, Current: to})
		inst.State = to
	}
	return out, nil
}

func (f *memEC2) StopInstances(_ context.Context, ids ...string) ([]awsapi.StateChange, error) {
	return f.change("StopInstances", stateStopped, ids)
}

func (f *memEC2) TerminateInstances(_ context.Context, ids ...string) ([]awsapi.StateChange, error) {
	return f.change("TerminateInstances", stateTerminated, ids)
}

func (f *memEC2) StartInstances(_ context.Context, ids ...string) ([]awsapi.StateChange, error) {
	return f.change("StartInstances", stateRunning, ids)
}

func (f *memEC2) RunInstances(context.Context, awsapi.RunInput) ([]awsapi.Instance, error) {
	return nil, errors.New("memEC2 launches nothing")
}

func (f *memEC2) CreateTags(context.Context, []string, []awsapi.Tag) error {
	return errors.New("memEC2 tags nothing")
}

// ownedConfig is the configuration of the teardown tests: project group/app, whose configured
// existing instance is i-configured.
func ownedConfig(strategy string) Config {
	return Config{Strategy: strategy, Project: "group/app", JobID: "42", InstanceID: "i-configured"}
}

// tagged is a running instance with the given tags ("key=value").
func tagged(id string, kv ...string) awsapi.Instance {
	inst := awsapi.Instance{ID: id, State: stateRunning}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		inst.Tags = append(inst.Tags, awsapi.Tag{Key: k, Value: v})
	}
	return inst
}

// launched and started carry the tags a launch from the template, and a start by the existing
// strategy, write for project group/app.
var (
	launched = []string{TagManagedBy + "=" + ManagedByValue, TagProject + "=group/app", TagJobID + "=42", TagStrategy + "=" + StrategyTemplate}
	started  = []string{TagManagedBy + "=" + ManagedByValue, TagProject + "=group/app", TagJobID + "=41", TagStrategy + "=" + StrategyExisting}
)

func TestTeardownActsOnlyOnThisProjectsInstances(t *testing.T) {
	tests := []struct {
		name      string
		strategy  string // the configuration's and the state's
		inst      awsapi.Instance
		wantState string   // the instance's state afterwards
		wantErr   []string // parts of the refusal; nil: no error
	}{
		{name: "template: our launch is terminated", strategy: StrategyTemplate,
			inst: tagged("i-ours", launched...), wantState: stateTerminated},
		{name: "template: an untagged instance is refused", strategy: StrategyTemplate,
			inst: tagged("i-stranger"), wantState: stateRunning,
			wantErr: []string{"refusing to terminate instance i-stranger", "lacks the tag managed-by=shipyard (it has no such tag)", "delete that file"}},
		{name: "template: another project's launch is refused", strategy: StrategyTemplate,
			inst:      tagged("i-theirs", TagManagedBy+"=shipyard", TagProject+"=group/other", TagStrategy+"=template"),
			wantState: stateRunning,
			wantErr:   []string{"refusing to terminate instance i-theirs", `lacks the tag shipyard:project=group/app (its shipyard:project is "group/other")`}},
		{name: "template: a long-lived instance the existing strategy started is never terminated", strategy: StrategyTemplate,
			inst: tagged("i-longlived", started...), wantState: stateRunning,
			wantErr: []string{"refusing to terminate instance i-longlived", `lacks the tag shipyard:strategy=template (its shipyard:strategy is "existing")`}},
		{name: "template: a launch that lost its strategy tag is refused", strategy: StrategyTemplate,
			inst: tagged("i-half", launched[:2]...), wantState: stateRunning,
			wantErr: []string{"refusing to terminate instance i-half", "lacks the tag shipyard:strategy=template (it has no such tag)"}},
		{name: "existing: the configured instance is stopped, tagged or not", strategy: StrategyExisting,
			inst: tagged("i-configured"), wantState: stateStopped},
		{name: "template: the configured instance is stopped, never terminated", strategy: StrategyTemplate,
			inst: tagged("i-configured", launched...), wantState: stateStopped},
		{name: "existing: another instance this project started is stopped", strategy: StrategyExisting,
			inst: tagged("i-earlier", started...), wantState: stateStopped},
		{name: "existing: an instance this project never started is refused", strategy: StrategyExisting,
			inst: tagged("i-stranger", "Name=web"), wantState: stateRunning,
			wantErr: []string{"refusing to stop instance i-stranger", "lacks the tag managed-by=shipyard (it has no such tag)", "delete that file"}},
		{name: "existing: another project's instance is refused", strategy: StrategyExisting,
			inst:      tagged("i-theirs", TagManagedBy+"=shipyard", TagProject+"=group/other"),
			wantState: stateRunning,
			wantErr:   []string{"refusing to stop instance i-theirs", "lacks the tag shipyard:project=group/app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newMemEC2(tt.inst)
			m := NewManager(api, ownedConfig(tt.strategy), nil)
			err := m.Teardown(context.Background(), State{InstanceID: tt.inst.ID, Strategy: tt.strategy, JobID: "42"})
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Teardown: %v", err)
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Teardown error %v, want one containing %q", err, w)
				}
			}
			if got := api.state(tt.inst.ID); got != tt.wantState {
				t.Errorf("instance is %s, want %s (calls %q)", got, tt.wantState, api.calls)
			}
		})
	}
}

func TestTeardownOfGoneInstances(t *testing.T) {
	gone := tagged("i-gone")
	gone.State = stateTerminated
	api := newMemEC2(gone)
	var log []string
	m := NewManager(api, ownedConfig(StrategyTemplate), func(s string) { log = append(log, s) })
	for _, id := range []string{"i-gone", "i-unknown"} {
		if err := m.Teardown(context.Background(), State{InstanceID: id, Strategy: StrategyTemplate}); err != nil {
			t.Errorf("Teardown of %s: %v", id, err)
		}
	}
	want := []string{"e2c: instance i-gone was already terminated", "e2c: instance i-unknown does not exist any more; nothing to tear down"}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"DescribeInstances i-gone", "DescribeInstances i-unknown"}, api.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// TestCleanupWithAForeignStateFile: a state file that names someone else's instance leaves it
// running, says so, and still tears down the job's own builder, found by its job tag.
func TestCleanupWithAForeignStateFile(t *testing.T) {
	api := newMemEC2(tagged("i-stranger", "Name=database"), tagged("i-ours", launched...))
	m := NewManager(api, ownedConfig(StrategyTemplate), nil)
	path := filepath.Join(t.TempDir(), StateFileName("42"))
	if err := os.WriteFile(path, []byte(FormatState(State{InstanceID: "i-stranger", Strategy: StrategyTemplate, JobID: "42"})), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := m.Cleanup(context.Background(), path, "42")
	if err == nil || !strings.Contains(err.Error(), "refusing to terminate instance i-stranger") {
		t.Errorf("Cleanup error %v, want the refusal of i-stranger", err)
	}
	if n != 1 || api.state("i-stranger") != stateRunning || api.state("i-ours") != stateTerminated {
		t.Errorf("Cleanup tore down %d; i-stranger %s, i-ours %s; want 1, running, terminated", n, api.state("i-stranger"), api.state("i-ours"))
	}
}
