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
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"shipyard/internal/awsapi"
)

// newMotoClient returns the product's EC2 client for the test's moto_server.
func newMotoClient(t testing.TB) *awsapi.Client {
	t.Helper()
	c, err := awsapi.New(testRegion, motoURL, awsapi.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}, nil)
	if err != nil {
		t.Fatalf("awsapi.New: %v", err)
	}
	return c
}

// sdkClient is the AWS SDK's EC2 client for the same moto_server: the tests set up and inspect
// with it what the product never does (images, launch templates, subnets, instance attributes),
// and so check the product's client against another implementation.
func sdkClient(t testing.TB) *ec2.Client {
	t.Helper()
	return ec2.New(ec2.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(motoURL),
		Credentials:  credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
	})
}

var (
	templateOnce sync.Once
	templateID   string
	templateErr  error
)

// armTemplate returns a launch template (created once per test binary) for
// an arm64 AMI from moto's catalogue.
func armTemplate(t testing.TB) string {
	t.Helper()
	c := sdkClient(t)
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
func testConfig(t testing.TB, c *awsapi.Client, strategy string) Config {
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
		cfg.LaunchTemplateID = armTemplate(t)
	case StrategyExisting:
		cfg.InstanceID = stoppedInstance(t, c)
	}
	return cfg
}

// stoppedInstance runs an untagged instance from the template and stops it,
// as the long-lived builder of the existing strategy would be between jobs.
func stoppedInstance(t testing.TB, c *awsapi.Client) string {
	t.Helper()
	ctx := context.Background()
	insts, err := c.RunInstances(ctx, awsapi.RunInput{LaunchTemplateID: armTemplate(t)})
	if err != nil {
		t.Fatalf("RunInstances for the existing instance: %v", err)
	}
	id := insts[0].ID
	if _, err := c.StopInstances(ctx, id); err != nil {
		t.Fatalf("StopInstances: %v", err)
	}
	return id
}

// instance describes one instance by id.
func instance(t testing.TB, c *awsapi.Client, id string) awsapi.Instance {
	t.Helper()
	insts, err := c.DescribeInstances(context.Background(), []string{id}, nil)
	if err != nil {
		t.Fatalf("DescribeInstances %s: %v", id, err)
	}
	if len(insts) == 0 {
		t.Fatalf("DescribeInstances %s: no instance", id)
	}
	return insts[0]
}

// jobInstances lists the ids of the project's instances tagged with jobID
// that are in one of states.
func jobInstances(t testing.TB, c *awsapi.Client, project, jobID string, states ...string) []string {
	t.Helper()
	insts, err := c.DescribeInstances(context.Background(), nil, []awsapi.Filter{
		{Name: "tag:" + TagProject, Values: []string{project}},
		{Name: "tag:" + TagJobID, Values: []string{jobID}},
		{Name: "instance-state-name", Values: states},
	})
	if err != nil {
		t.Fatalf("DescribeInstances by job tag: %v", err)
	}
	var ids []string
	for _, inst := range insts {
		ids = append(ids, inst.ID)
	}
	slices.Sort(ids)
	return ids
}

// tagMap turns EC2 tags into a map.
func tagMap(tags []awsapi.Tag) map[string]string {
	m := map[string]string{}
	for _, tg := range tags {
		m[tg.Key] = tg.Value
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

// expect fails the test unless exactly n recorded lines contain substr.
func (l *logLines) expect(t testing.TB, substr string, n int) {
	t.Helper()
	if got := l.matching(substr); len(got) != n {
		l.mu.Lock()
		defer l.mu.Unlock()
		t.Errorf("%d log lines contain %q, want %d; log: %q", len(got), substr, n, l.lines)
	}
}
