//go:build full

package e2c

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// newMotoClient returns an EC2 client for the test's moto_server.
func newMotoClient(t testing.TB) *ec2.Client {
	t.Helper()
	c, err := NewClient(context.Background(), testRegion, motoURL, testKeyID, testSecret)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

var (
	templateOnce sync.Once
	templateID   string
	templateErr  error
)

// armTemplate returns a launch template (created once per test binary) for
// an arm64 AMI from moto's catalogue.
func armTemplate(t testing.TB, c *ec2.Client) string {
	t.Helper()
	templateOnce.Do(func() {
		ctx := context.Background()
		imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{
			Filters: []types.Filter{{Name: aws.String("architecture"), Values: []string{"arm64"}}},
		})
		if err != nil {
			templateErr = fmt.Errorf("DescribeImages: %w", err)
			return
		}
		if len(imgs.Images) == 0 {
			templateErr = fmt.Errorf("moto lists no arm64 image")
			return
		}
		out, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
			LaunchTemplateName: aws.String(fmt.Sprintf("arm-builder-%d", time.Now().UnixNano())),
			LaunchTemplateData: &types.RequestLaunchTemplateData{
				ImageId:      imgs.Images[0].ImageId,
				InstanceType: types.InstanceTypeT4gSmall,
			},
		})
		if err != nil {
			templateErr = fmt.Errorf("CreateLaunchTemplate: %w", err)
			return
		}
		templateID = aws.ToString(out.LaunchTemplate.LaunchTemplateId)
	})
	if templateErr != nil {
		t.Fatal(templateErr)
	}
	return templateID
}

var jobSeq atomic.Int64

// testConfig returns a valid Config for strategy whose project and job id
// are unique to the test, so tests sharing one moto_server do not interfere.
func testConfig(t testing.TB, c *ec2.Client, strategy string) Config {
	t.Helper()
	name := regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")
	cfg := Config{
		Region:       testRegion,
		Strategy:     strategy,
		Project:      "group/" + strings.ToLower(name) + fmt.Sprintf("-%d", time.Now().UnixNano()),
		PipelineID:   "4242",
		JobID:        fmt.Sprintf("%d", 900000+jobSeq.Add(1)),
		TTL:          time.Hour,
		SSHUser:      "admin",
		SSHPort:      22,
		WaitTimeout:  30 * time.Second,
		PollInterval: 50 * time.Millisecond,
		SettleDelay:  time.Second,
	}
	switch strategy {
	case StrategyTemplate:
		cfg.LaunchTemplateID = armTemplate(t, c)
	case StrategyExisting:
		cfg.InstanceID = stoppedInstance(t, c)
	}
	return cfg
}

// stoppedInstance runs an untagged instance from the template and stops it,
// as the long-lived builder of the existing strategy would be between jobs.
func stoppedInstance(t testing.TB, c *ec2.Client) string {
	t.Helper()
	ctx := context.Background()
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(armTemplate(t, c))},
	})
	if err != nil {
		t.Fatalf("RunInstances for the existing instance: %v", err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("StopInstances: %v", err)
	}
	return id
}

// instance describes one instance by id.
func instance(t testing.TB, c *ec2.Client, id string) types.Instance {
	t.Helper()
	out, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("DescribeInstances %s: %v", id, err)
	}
	inst, ok := firstInstance(out)
	if !ok {
		t.Fatalf("DescribeInstances %s: no instance", id)
	}
	return inst
}

// jobInstances lists the ids of the project's instances tagged with jobID
// that are in one of states.
func jobInstances(t testing.TB, c *ec2.Client, project, jobID string, states ...string) []string {
	t.Helper()
	out, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("tag:" + TagProject), Values: []string{project}},
		{Name: aws.String("tag:" + TagJobID), Values: []string{jobID}},
		{Name: aws.String("instance-state-name"), Values: states},
	}})
	if err != nil {
		t.Fatalf("DescribeInstances by job tag: %v", err)
	}
	var ids []string
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			ids = append(ids, aws.ToString(inst.InstanceId))
		}
	}
	slices.Sort(ids)
	return ids
}

// tagMap turns EC2 tags into a map.
func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, tg := range tags {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m
}

// logLines records the Manager's log lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

// matching returns the recorded lines containing substr.
func (l *logLines) matching(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			out = append(out, s)
		}
	}
	return out
}

// startInput asks to start one instance.
func startInput(id string) *ec2.StartInstancesInput {
	return &ec2.StartInstancesInput{InstanceIds: []string{id}}
}

// expect fails the test unless exactly n recorded lines contain substr.
func (l *logLines) expect(t testing.TB, substr string, n int) {
	t.Helper()
	if got := l.matching(substr); len(got) != n {
		l.mu.Lock()
		defer l.mu.Unlock()
		t.Errorf("%d log lines contain %q, want %d; log: %q", len(got), substr, n, l.lines)
	}
}
