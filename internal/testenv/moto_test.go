//go:build full

package testenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The test world's EC2 keeps a running instance's public IP when StartInstances is called on it
// again, as EC2 does (moto alone draws a new one: hack/moto corrects it), and gives a stopped
// instance an address again when it starts.
func TestMotoKeepsARunningInstancesPublicIP(t *testing.T) {
	ctx := context.Background()
	client := MotoEC2(StartMoto(t))
	run, err := client.RunInstances(ctx, &ec2.RunInstancesInput{LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(ArmLaunchTemplate(t, client))},
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	ip := func() string {
		t.Helper()
		out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Reservations[0].Instances[0].PublicIpAddress)
	}
	first := ip()
	if first == "" {
		t.Fatalf("instance %s runs without a public IP", id)
	}
	for i := range 3 {
		if _, err := client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Fatal(err)
		}
		if again := ip(); again != first {
			t.Fatalf("StartInstances #%d on the running instance moved its public IP from %s to %s (EC2 keeps it)", i+1, first, again)
		}
	}
	if _, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if stopped := ip(); stopped != "" {
		t.Errorf("the stopped instance still has public IP %s", stopped)
	}
	if _, err := client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if started := ip(); started == "" {
		t.Errorf("the instance started from stopped has no public IP")
	}
}
