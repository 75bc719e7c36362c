//go:build full

package e2c

import (
	"context"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// hookAPI wraps the real moto client: it records the calls in order and can
// inject what moto cannot produce (capacity errors, slow state changes).
type hookAPI struct {
	EC2API
	// runErr, when set, may fail a RunInstances request before it reaches moto.
	runErr func(*ec2.RunInstancesInput) error
	// startErr, when set, may fail the n-th (from 1) StartInstances request before it reaches moto.
	startErr func(n int) error
	// editDescribe, when set, may change a DescribeInstances answer.
	editDescribe func(*ec2.DescribeInstancesOutput)

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
func placement(in *ec2.RunInstancesInput) string {
	market := "on-demand"
	if in.InstanceMarketOptions != nil && in.InstanceMarketOptions.MarketType == types.MarketTypeSpot {
		market = "spot"
	}
	subnet := aws.ToString(in.SubnetId)
	if subnet == "" {
		subnet = "template-subnet"
	}
	return market + " " + subnet
}

func (h *hookAPI) RunInstances(ctx context.Context, in *ec2.RunInstancesInput, optFns ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error) {
	h.record("RunInstances " + placement(in))
	if h.runErr != nil {
		if err := h.runErr(in); err != nil {
			return nil, err
		}
	}
	return h.EC2API.RunInstances(ctx, in, optFns...)
}

func (h *hookAPI) StartInstances(ctx context.Context, in *ec2.StartInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error) {
	h.record("StartInstances " + strings.Join(in.InstanceIds, ","))
	h.mu.Lock()
	h.starts++
	n := h.starts
	h.mu.Unlock()
	if h.startErr != nil {
		if err := h.startErr(n); err != nil {
			return nil, err
		}
	}
	return h.EC2API.StartInstances(ctx, in, optFns...)
}

func (h *hookAPI) StopInstances(ctx context.Context, in *ec2.StopInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error) {
	h.record("StopInstances " + strings.Join(in.InstanceIds, ","))
	return h.EC2API.StopInstances(ctx, in, optFns...)
}

func (h *hookAPI) TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, optFns ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error) {
	h.record("TerminateInstances " + strings.Join(in.InstanceIds, ","))
	return h.EC2API.TerminateInstances(ctx, in, optFns...)
}

func (h *hookAPI) CreateTags(ctx context.Context, in *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	h.record("CreateTags " + strings.Join(in.Resources, ","))
	return h.EC2API.CreateTags(ctx, in, optFns...)
}

func (h *hookAPI) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	h.record("DescribeInstances")
	out, err := h.EC2API.DescribeInstances(ctx, in, optFns...)
	if err == nil && h.editDescribe != nil {
		h.editDescribe(out)
	}
	return out, err
}
