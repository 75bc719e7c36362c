package testenv

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Fleet plays the machines of a fake EC2 (moto) for a product that launches its own builders:
// every instance that appears pending or running with a public IP is booted, as cloud-init boots
// it, from the user data moto recorded for it, on a free test host slot, and its public IP is
// routed there first (so the product sees, in order, a refused port, the image's own sshd, then
// the job's); when the instance is stopped or terminated its test host is powered off and the
// route removed. Nothing is told to the product: it launches, reads the public IP from EC2 and
// dials it. Start it with ServeLaunched.
type Fleet struct {
	api   UserDataAPI
	cloud *Cloud
	hold  int
	log   func(string, ...any)
	// boot boots one instance's machine from its user data (a test host; a VM with ServeLaunchedOnVMs)
	boot func(ctx context.Context, fi *fleetInstance, script string) (TestHost, func() error, error)
	// settle, if set, waits after boot until the machine has run its user data (a VM's boot
	// returns once qemu runs), or the instance went away (gone closed)
	settle func(ctx context.Context, fi *fleetInstance, h TestHost) error
	// inspect, if set, reads the machine's record once its instance went away, before it is
	// powered off
	inspect func(h TestHost) *VMRecord
	kind    string // what boot boots, for the log

	mu   sync.Mutex
	byID map[string]*fleetInstance
	wg   sync.WaitGroup
}

// Launched is one instance the fleet saw and what became of its test host.
type Launched struct {
	InstanceID, PublicIP string
	// Host is the test host it booted on (Slot 0: none was claimed).
	Host TestHost
	// Err is why it could not boot (no user data, the user data failed, …).
	Err error
	// Booted is when the user data finished; PoweredOff when the test host was stopped after
	// the instance was (both zero until then).
	Booted, PoweredOff time.Time
	// VM is what a VM's engine had done, read when its instance went away (ServeLaunchedOnVMs;
	// nil for test hosts).
	VM *VMRecord
}

type fleetInstance struct {
	Launched
	gone chan struct{} // closed when EC2 reports the instance stopping, stopped or terminated
	done chan struct{} // closed when its test host is off again
}

// ServeLaunched boots the instances launched from now until the test ends (see Fleet), holding
// each image's sshd until a client has connected to it (at most holdImageSSHD seconds, 0: not
// at all), so the first-boot host-key window is met for sure.
func ServeLaunched(t *testing.T, api UserDataAPI, holdImageSSHD int) *Fleet {
	t.Helper()
	f := &Fleet{api: api, cloud: &Cloud{}, hold: holdImageSSHD, log: t.Logf, byID: map[string]*fleetInstance{}, kind: "test host"}
	f.boot = func(ctx context.Context, fi *fleetInstance, script string) (TestHost, func() error, error) {
		return boot(ctx, func(TestHost) (string, error) { return script, nil }, f.cloud, fi.PublicIP, f.hold, false)
	}
	f.serve(t)
	return f
}

// serve polls EC2 for instances until the test ends, then powers every machine off.
func (f *Fleet) serve(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for ctx.Err() == nil {
			f.poll(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-polled
		f.mu.Lock()
		for _, in := range f.byID {
			select {
			case <-in.gone:
			default:
				close(in.gone)
			}
		}
		f.mu.Unlock()
		f.wg.Wait()
		f.cloud.unmapAll()
	})
}

func (f *Fleet) poll(ctx context.Context) {
	out, err := f.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			id, ip := aws.ToString(in.InstanceId), aws.ToString(in.PublicIpAddress)
			var state types.InstanceStateName
			if in.State != nil {
				state = in.State.Name
			}
			known := f.byID[id]
			switch {
			case known == nil && (state == types.InstanceStateNamePending || state == types.InstanceStateNameRunning) && ip != "":
				fi := &fleetInstance{Launched: Launched{InstanceID: id, PublicIP: ip}, gone: make(chan struct{}), done: make(chan struct{})}
				f.byID[id] = fi
				f.wg.Add(1)
				go f.run(ctx, fi)
			case known != nil && state != types.InstanceStateNamePending && state != types.InstanceStateNameRunning:
				select {
				case <-known.gone:
				default:
					close(known.gone)
				}
			}
		}
	}
}

// run boots one instance's test host, keeps it while the instance lives, then powers it off.
func (f *Fleet) run(ctx context.Context, fi *fleetInstance) {
	defer f.wg.Done()
	defer close(fi.done)
	script, err := InstanceUserData(ctx, f.api, fi.InstanceID)
	if err != nil {
		f.set(fi, func(l *Launched) { l.Err = err })
		f.log("fleet: %s: %v", fi.InstanceID, err)
		return
	}
	f.log("fleet: %s launched at %s: booting it from its user data", fi.InstanceID, fi.PublicIP)
	start := time.Now()
	h, stop, err := f.boot(ctx, fi, script)
	if err == nil && f.settle != nil {
		err = f.settle(ctx, fi, h)
	}
	f.set(fi, func(l *Launched) { l.Host, l.Err = h, err })
	if err != nil {
		f.log("fleet: %s did not boot on %s %d: %v", fi.InstanceID, f.kind, h.Slot, err)
	} else {
		f.set(fi, func(l *Launched) { l.Booted = time.Now() })
		f.log("fleet: %s booted on %s %d (%s) in %s", fi.InstanceID, f.kind, h.Slot, h.SSHAddr(), time.Since(start).Round(100*time.Millisecond))
	}
	if stop == nil {
		return
	}
	<-fi.gone
	if f.inspect != nil && err == nil {
		rec := f.inspect(h)
		f.set(fi, func(l *Launched) { l.VM = rec })
		if rec.Err != nil {
			f.log("fleet: %s: reading the VM's record: %v", fi.InstanceID, rec.Err)
		}
	}
	if err := stop(); err != nil {
		f.log("fleet: %s: %v", fi.InstanceID, err)
		return
	}
	f.set(fi, func(l *Launched) { l.PoweredOff = time.Now() })
	f.log("fleet: %s is gone: %s %d powered off, %s no longer routed", fi.InstanceID, f.kind, h.Slot, fi.PublicIP)
}

func (f *Fleet) set(fi *fleetInstance, edit func(*Launched)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	edit(&fi.Launched)
}

// Instances are the instances the fleet saw, in launch order of their ids.
func (f *Fleet) Instances() []Launched {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Launched, 0, len(f.byID))
	for _, fi := range f.byID {
		out = append(out, fi.Launched)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InstanceID < out[j].InstanceID })
	return out
}

// WaitOff waits until every instance's test host is off (the instances were stopped or
// terminated) and reports those still on after limit.
func (f *Fleet) WaitOff(limit time.Duration) error {
	f.mu.Lock()
	var pending []*fleetInstance
	for _, fi := range f.byID {
		pending = append(pending, fi)
	}
	f.mu.Unlock()
	deadline := time.Now().Add(limit)
	var on []string
	for _, fi := range pending {
		select {
		case <-fi.done:
		case <-time.After(time.Until(deadline)):
			on = append(on, fi.InstanceID)
		}
	}
	if len(on) > 0 {
		return fmt.Errorf("the test hosts of %s are still on %s after the release (is the instance still running?)", strings.Join(on, ", "), limit)
	}
	return nil
}
