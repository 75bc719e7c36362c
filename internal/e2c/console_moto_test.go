//go:build full

package e2c

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"shipyard/internal/awsapi"
)

// TestWaitConsoleHostKeysOnMoto reads the console of an instance moto runs: moto answers every
// instance with a canned kernel log and no host keys, so the wait ends at its deadline, naming
// the instance and the last line it saw; an unknown instance is read again until then too.
func TestWaitConsoleHostKeysOnMoto(t *testing.T) {
	ctx := context.Background()
	c := newMotoClient(t)
	run, err := c.RunInstances(ctx, awsapi.RunInput{LaunchTemplateID: armTemplate(t), Tags: []awsapi.Tag{{Key: TagManagedBy, Value: ManagedByValue}}})
	if err != nil || len(run) != 1 {
		t.Fatalf("RunInstances = %+v, %v", run, err)
	}
	id := run[0].ID
	t.Cleanup(func() { _, _ = c.TerminateInstances(context.Background(), id) })

	var logs []string
	_, err = WaitConsoleHostKeys(ctx, c, id, 300*time.Millisecond, 100*time.Millisecond, func(s string) { logs = append(logs, s) })
	t.Logf("log:\n%s\nerror: %v", strings.Join(logs, "\n"), err)
	if !errors.Is(err, ErrNoConsoleHostKeys) || errors.Is(err, ErrBadConsoleHostKeys) {
		t.Fatalf("error %v, want ErrNoConsoleHostKeys at the deadline", err)
	}
	for _, s := range []string{"instance " + id + " printed none in ", `which end "Enabling fast FPU save and restore... done."`, "set E2C_SSH_HOST_KEY"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not hold %q", s)
		}
	}

	_, err = WaitConsoleHostKeys(ctx, c, "i-0123456789abcdef0", 200*time.Millisecond, 100*time.Millisecond, nil)
	if !errors.Is(err, ErrNoConsoleHostKeys) || !strings.Contains(err.Error(), "InvalidInstanceID.NotFound") {
		t.Errorf("unknown instance: %v, want ErrNoConsoleHostKeys at the deadline naming InvalidInstanceID.NotFound", err)
	}
}
