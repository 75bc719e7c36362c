//go:build full

package e2c

import (
	"context"
	"strings"
	"sync"

	"shipyard/internal/awsapi"
)

// hookAPI wraps the real moto client: it records the calls in order and can
// inject what moto cannot produce (capacity errors, slow state changes).
type hookAPI struct {
	EC2API
	// runErr, when set, may fail a RunInstances request before it reaches moto.
	runErr func(awsapi.RunInput) error
	// startErr, when set, may fail the n-th (from 1) StartInstances request before it reaches moto.
	startErr func(n int) error
	// editDescribe, when set, may change a DescribeInstances answer.
	editDescribe func([]awsapi.Instance)
	// describeErr, when set, may fail the n-th (from 1) DescribeInstances request before it reaches moto.
	describeErr func(n int) error
	describes   int

	mu     sync.Mutex
	calls  []string
	starts int
}

func (h *hookAPI) record(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, s)
}

// reset forgets the recorded calls.
func (h *hookAPI) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = nil
}

// log returns the recorded calls, with consecutive repeats collapsed.
func (h *hookAPI) log() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, c := range h.calls {
		if len(out) > 0 && out[len(out)-1] == c {
			continue
		}
		out = append(out, c)
	}
	return out
}

// placement names the market and subnet of a RunInstances request.
func placement(in awsapi.RunInput) string {
	market := "on-demand"
	if in.Spot {
		market = "spot"
	}
	subnet := in.SubnetID
	if subnet == "" {
		subnet = "template-subnet"
	}
	return market + " " + subnet
}

func (h *hookAPI) RunInstances(ctx context.Context, in awsapi.RunInput) ([]awsapi.Instance, error) {
	h.record("RunInstances " + placement(in))
	if h.runErr != nil {
		if err := h.runErr(in); err != nil {
			return nil, err
		}
	}
	return h.EC2API.RunInstances(ctx, in)
}

func (h *hookAPI) StartInstances(ctx context.Context, ids ...string) ([]awsapi.StateChange, error) {
	h.record("StartInstances " + strings.Join(ids, ","))
	h.mu.Lock()
	h.starts++
	n := h.starts
	h.mu.Unlock()
	if h.startErr != nil {
		if err := h.startErr(n); err != nil {
			return nil, err
		}
	}
	return h.EC2API.StartInstances(ctx, ids...)
}

func (h *hookAPI) StopInstances(ctx context.Context, ids ...string) ([]awsapi.StateChange, error) {
	h.record("StopInstances " + strings.Join(ids, ","))
	return h.EC2API.StopInstances(ctx, ids...)
}

func (h *hookAPI) TerminateInstances(ctx context.Context, ids ...string) ([]awsapi.StateChange, error) {
	h.record("TerminateInstances " + strings.Join(ids, ","))
	return h.EC2API.TerminateInstances(ctx, ids...)
}

func (h *hookAPI) CreateTags(ctx context.Context, ids []string, tags []awsapi.Tag) error {
	h.record("CreateTags " + strings.Join(ids, ","))
	return h.EC2API.CreateTags(ctx, ids, tags)
}

func (h *hookAPI) DescribeInstances(ctx context.Context, ids []string, filters []awsapi.Filter) ([]awsapi.Instance, error) {
	h.record("DescribeInstances")
	h.mu.Lock()
	h.describes++
	n := h.describes
	h.mu.Unlock()
	if h.describeErr != nil {
		if err := h.describeErr(n); err != nil {
			return nil, err
		}
	}
	out, err := h.EC2API.DescribeInstances(ctx, ids, filters)
	if err == nil && h.editDescribe != nil {
		h.editDescribe(out)
	}
	return out, err
}
