//go:build full

package awsapi

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"shipyard/internal/retry"
	"shipyard/internal/testenv"
)

func TestMoto(t *testing.T) {
	url := testenv.StartMoto(t)
	sdk := testenv.MotoEC2(url)
	lt := testenv.ArmLaunchTemplate(t, sdk)
	ctx := context.Background()
	c, err := New(testRegion, url, Credentials{AccessKeyID: "testing", SecretAccessKey: testSecret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithRetry(Retry{Attempts: 1})
	jobID := strconv.FormatInt(time.Now().UnixNano(), 10)

	run, err := c.RunInstances(ctx, RunInput{
		LaunchTemplateID: lt, UserData: "#!/bin/sh\necho hi\n", Spot: true, SpotMaxPrice: "0.05",
		TerminateOnShutdown: true,
		Tags:                []Tag{{"Name", "arm builder"}, {"shipyard:job-id", jobID}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if len(run) != 1 || run[0].ID == "" || run[0].Tag("shipyard:job-id") != jobID {
		t.Fatalf("RunInstances = %+v, want one instance with the job's tag", run)
	}
	id := run[0].ID
	t.Logf("RunInstances: %+v", run[0])

	// the SDK reads back what the form encoding sent
	ud, err := sdk.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: ec2types.InstanceAttributeNameUserData})
	if err != nil || ud.UserData == nil || aws.ToString(ud.UserData.Value) != base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hi\n")) {
		t.Errorf("user data read back with the SDK: %+v, %v", ud, err)
	}
	sb, err := sdk.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior})
	if err != nil || sb.InstanceInitiatedShutdownBehavior == nil || aws.ToString(sb.InstanceInitiatedShutdownBehavior.Value) != "terminate" {
		t.Errorf("shutdown behaviour read back with the SDK: %+v, %v", sb, err)
	}

	byID, err := c.DescribeInstances(ctx, []string{id}, nil)
	if err != nil || len(byID) != 1 || byID[0].ID != id {
		t.Fatalf("DescribeInstances by id = %+v, %v", byID, err)
	}
	t.Logf("DescribeInstances: %+v", byID[0])
	if byID[0].State != "running" || byID[0].Lifecycle != "spot" || byID[0].Tag("Name") != "arm builder" || byID[0].Type != "t4g.small" {
		t.Errorf("described instance %+v: want running, spot, a t4g.small (the template's type), with its tags", byID[0])
	}

	// the instance type a launch from the template gets, read before launching
	for _, version := range []string{"$Default", "$Latest", "1"} {
		vs, err := c.DescribeLaunchTemplateVersions(ctx, lt, version)
		if err != nil || len(vs) != 1 || vs[0].TemplateID != lt || vs[0].Number != 1 || vs[0].InstanceType != "t4g.small" {
			t.Errorf("DescribeLaunchTemplateVersions(%s, %s) = %+v, %v; want version 1, a t4g.small", lt, version, vs, err)
		}
	}
	if vs, err := c.DescribeLaunchTemplateVersions(ctx, "lt-0123456789abcdef0", "$Default"); err == nil {
		t.Errorf("DescribeLaunchTemplateVersions of an unknown template = %+v, want an error", vs)
	} else {
		t.Logf("DescribeLaunchTemplateVersions of an unknown template: %v", err)
	}

	// moto answers every instance with the same canned kernel log (moto/ec2/responses/general.py)
	co, err := c.GetConsoleOutput(ctx, id)
	if err != nil {
		t.Fatalf("GetConsoleOutput: %v", err)
	}
	t.Logf("GetConsoleOutput: %s, %s, %d bytes", co.InstanceID, co.Timestamp, len(co.Output))
	if co.InstanceID != id || !strings.HasPrefix(co.Output, "Linux version 2.6.16-xenU") || time.Since(co.Timestamp).Abs() > time.Hour {
		t.Errorf("GetConsoleOutput = %+v, want %s's decoded output starting with moto's \"Linux version 2.6.16-xenU\" and a timestamp of now", co, id)
	}

	// a second, on-demand instance of another job must not match the job's filter
	other, err := c.RunInstances(ctx, RunInput{LaunchTemplateID: lt, Tags: []Tag{{"shipyard:job-id", "other-" + jobID}}})
	if err != nil {
		t.Fatalf("RunInstances (other job): %v", err)
	}
	byTag, err := c.DescribeInstances(ctx, nil, []Filter{
		{"tag:shipyard:job-id", []string{jobID}},
		{"instance-state-name", []string{"pending", "running"}},
	})
	if err != nil || len(byTag) != 1 || byTag[0].ID != id {
		t.Errorf("DescribeInstances by tag = %+v, %v; want only %s", byTag, err, id)
	}

	if err := c.CreateTags(ctx, []string{id, other[0].ID}, []Tag{{"shipyard:state", "busy"}, {"Name", "renamed"}}); err != nil {
		t.Fatalf("CreateTags: %v", err)
	}
	tagged, err := c.DescribeInstances(ctx, nil, []Filter{{"tag:shipyard:state", []string{"busy"}}})
	if err != nil || len(tagged) != 2 || tagged[0].Tag("Name") != "renamed" {
		t.Errorf("DescribeInstances after CreateTags = %+v, %v", tagged, err)
	}

	// a one-time spot instance cannot be stopped (on AWS): stop and start the on-demand one
	od := other[0].ID
	stop, err := c.StopInstances(ctx, od)
	if err != nil || len(stop) != 1 || stop[0].ID != od || stop[0].Previous != "running" || !slices.Contains([]string{"stopping", "stopped"}, stop[0].Current) {
		t.Errorf("StopInstances = %+v, %v", stop, err)
	}
	start, err := c.StartInstances(ctx, od)
	if err != nil || len(start) != 1 || start[0].ID != od || !slices.Contains([]string{"pending", "running"}, start[0].Current) {
		t.Errorf("StartInstances = %+v, %v", start, err)
	}
	term, err := c.TerminateInstances(ctx, id, od)
	if err != nil || len(term) != 2 {
		t.Errorf("TerminateInstances = %+v, %v", term, err)
	}
	for _, ch := range term {
		if !slices.Contains([]string{"shutting-down", "terminated"}, ch.Current) {
			t.Errorf("TerminateInstances: %+v, want shutting-down or terminated", ch)
		}
	}

	const unknown = "i-0123456789abcdef0"
	for name, call := range map[string]func() error{
		"DescribeInstances":  func() error { _, err := c.DescribeInstances(ctx, []string{unknown}, nil); return err },
		"StopInstances":      func() error { _, err := c.StopInstances(ctx, unknown); return err },
		"TerminateInstances": func() error { _, err := c.TerminateInstances(ctx, unknown); return err },
		"GetConsoleOutput":   func() error { _, err := c.GetConsoleOutput(ctx, unknown); return err },
	} {
		err := call()
		t.Logf("%s of an unknown id: %v", name, err)
		if CodeOf(err) != "InvalidInstanceID.NotFound" || retry.Transient(err) {
			t.Errorf("%s of an unknown id: %v, want the permanent code InvalidInstanceID.NotFound", name, err)
		}
	}

	creds, err := assumeRole(ctx, nil, url, "arn:aws:iam::123456789012:role/arm-builder", "job-"+jobID, "any.jwt.token")
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	t.Logf("AssumeRoleWithWebIdentity: key id %s, expires %s", creds.AccessKeyID, creds.Expires)
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" || creds.SessionToken == "" || creds.Expires.IsZero() {
		t.Fatalf("AssumeRoleWithWebIdentity = %+v, want complete credentials", creds)
	}
	tc, err := New(testRegion, url, creds, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tc.DescribeInstances(ctx, []string{id}, nil)
	if err != nil || len(got) != 1 || got[0].ID != id {
		t.Errorf("DescribeInstances with the role's credentials = %+v, %v", got, err)
	}
}
