package awsendpoint

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		service, region, override string
		want                      string
		wantErr                   string
	}{
		{EC2, "eu-north-1", "", "https://ec2.eu-north-1.amazonaws.com", ""},
		{STS, "eu-north-1", "", "https://sts.eu-north-1.amazonaws.com", ""},
		{EC2, "ap-southeast-5", "", "https://ec2.ap-southeast-5.amazonaws.com", ""},
		// China: its own DNS suffix
		{EC2, "cn-north-1", "", "https://ec2.cn-north-1.amazonaws.com.cn", ""},
		{STS, "cn-northwest-1", "", "https://sts.cn-northwest-1.amazonaws.com.cn", ""},
		// GovCloud: the commercial suffix, its own partition
		{EC2, "us-gov-west-1", "", "https://ec2.us-gov-west-1.amazonaws.com", ""},
		{STS, "us-gov-east-1", "", "https://sts.us-gov-east-1.amazonaws.com", ""},
		// an override is that service's alone, taken as it is
		{EC2, "eu-north-1", "https://vpce-0a1b.ec2.eu-north-1.vpce.amazonaws.com/", "https://vpce-0a1b.ec2.eu-north-1.vpce.amazonaws.com", ""},
		{EC2, "", "http://127.0.0.1:5000", "http://127.0.0.1:5000", ""},
		{STS, "eu-north-1", "https://sts-fips.us-east-1.amazonaws.com", "https://sts-fips.us-east-1.amazonaws.com", ""},
		{EC2, "us-iso-east-1", "http://127.0.0.1:5000", "http://127.0.0.1:5000", ""},
		// what is refused
		{EC2, "", "", "", "region is empty"},
		{EC2, "eu-north", "", "", `region "eu-north" is no AWS region name`},
		{EC2, "EU-NORTH-1", "", "", "is no AWS region name"},
		{STS, "us-iso-east-1", "", "", "isolated AWS partition"},
		{EC2, "us-isob-east-1", "", "", "isolated AWS partition"},
		{EC2, "eu-north-1", "ec2.eu-north-1.amazonaws.com", "", "want an http:// or https:// URL"},
		{EC2, "eu-north-1", "ftp://host", "", "want an http:// or https:// URL"},
		{EC2, "eu-north-1", "https://", "", "has no host"},
		{EC2, "eu-north-1", "https://host/?x=1", "", "takes no query"},
		{STS, "eu-north-1", "https://user:s3cret@host", "", "takes no user or password"},
	}
	for _, tt := range tests {
		t.Run(tt.service+" "+tt.region+" "+tt.override, func(t *testing.T) {
			got, err := Resolve(tt.service, tt.region, tt.override, "--endpoint")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("the error shows the URL's password: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Resolve = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestPartitionOf(t *testing.T) {
	for region, want := range map[string]string{
		"eu-north-1": "aws", "us-east-1": "aws", "il-central-1": "aws", "mx-central-1": "aws",
		"cn-north-1": "aws-cn", "cn-northwest-1": "aws-cn",
		"us-gov-west-1": "aws-us-gov", "us-gov-east-1": "aws-us-gov",
	} {
		p, err := PartitionOf(region)
		if err != nil || p.ID != want {
			t.Errorf("PartitionOf(%s) = %+v, %v; want %s", region, p, err, want)
		}
	}
}

func TestARNPartition(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:iam::123456789012:role/r":        "aws",
		"arn:aws-cn:iam::123456789012:role/r":     "aws-cn",
		"arn:aws-us-gov:iam::123456789012:role/r": "aws-us-gov",
		"role/r": "",
		"":       "",
	} {
		if got := ARNPartition(arn); got != want {
			t.Errorf("ARNPartition(%q) = %q, want %q", arn, got, want)
		}
	}
}
