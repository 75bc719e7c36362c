// Package awsendpoint decides where the module's AWS requests go: the partition a region
// belongs to (aws, aws-cn, aws-us-gov), and each service's endpoint in that region, or the
// override given for that service alone. The EC2 override (--endpoint, AWS_ENDPOINT_URL_EC2) is
// never the STS endpoint, nor the other way round: a VPC or FIPS endpoint of one service does not
// answer the other.
//
// It links no network code: the answers are strings, tested as a table.
package awsendpoint

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Partition is a group of AWS regions with its own DNS suffix and ARN prefix.
type Partition struct {
	// ID is the partition as ARNs name it: aws, aws-cn or aws-us-gov.
	ID string
	// DNSSuffix ends the services' host names: amazonaws.com, or amazonaws.com.cn in China.
	DNSSuffix string
}

var (
	commercial = Partition{ID: "aws", DNSSuffix: "amazonaws.com"}
	china      = Partition{ID: "aws-cn", DNSSuffix: "amazonaws.com.cn"}
	govCloud   = Partition{ID: "aws-us-gov", DNSSuffix: "amazonaws.com"}
)

// regionRE is a region name: eu-north-1, us-gov-west-1, cn-northwest-1, ap-southeast-5.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// isolated are the region prefixes of the isolated partitions (aws-iso, aws-iso-b, aws-iso-e,
// aws-iso-f), which the module does not serve: their endpoints are not on the public internet.
var isolated = []string{"us-iso-", "us-isob-", "eu-isoe-", "us-isof-"}

// PartitionOf returns the partition of region, or an error naming AWS_DEFAULT_REGION when region
// is no region name or lies in an isolated partition.
func PartitionOf(region string) (Partition, error) {
	if !regionRE.MatchString(region) {
		return Partition{}, fmt.Errorf("region %q is no AWS region name such as eu-north-1: set AWS_DEFAULT_REGION (--region)", region)
	}
	for _, p := range isolated {
		if strings.HasPrefix(region, p) {
			return Partition{}, fmt.Errorf("region %s is in an isolated AWS partition, which shipyard does not support", region)
		}
	}
	switch {
	case strings.HasPrefix(region, "cn-"):
		return china, nil
	case strings.HasPrefix(region, "us-gov-"):
		return govCloud, nil
	}
	return commercial, nil
}

// Service names for Resolve.
const (
	EC2 = "ec2"
	STS = "sts"
)

// Resolve returns the endpoint of service (EC2 or STS) in region: override when it is set (a
// VPC, FIPS or test endpoint of that service), else https://<service>.<region>.<DNS suffix of
// the region's partition>. An override must be an http or https URL with a host and nothing
// after the path; name says which setting it came from, for the error.
func Resolve(service, region, override, name string) (string, error) {
	if override != "" {
		return checkOverride(override, name)
	}
	if region == "" {
		return "", fmt.Errorf("the %s endpoint: region is empty: set AWS_DEFAULT_REGION (--region)", strings.ToUpper(service))
	}
	p, err := PartitionOf(region)
	if err != nil {
		return "", fmt.Errorf("the %s endpoint: %w", strings.ToUpper(service), err)
	}
	return "https://" + service + "." + region + "." + p.DNSSuffix, nil
}

// checkOverride returns the endpoint URL u without a trailing slash, or why it is none.
func checkOverride(u, name string) (string, error) {
	parsed, err := url.Parse(u)
	switch {
	case err != nil:
		return "", fmt.Errorf("%s is no URL", name)
	case parsed.User != nil:
		return "", fmt.Errorf("%s: an endpoint URL takes no user or password", name)
	case parsed.Scheme != "http" && parsed.Scheme != "https":
		return "", fmt.Errorf("%s %q: want an http:// or https:// URL, e.g. https://vpce-0123.ec2.eu-north-1.vpce.amazonaws.com", name, u)
	case parsed.Host == "":
		return "", fmt.Errorf("%s %q has no host", name, u)
	case parsed.RawQuery != "" || parsed.Fragment != "":
		return "", fmt.Errorf("%s %q: an endpoint URL takes no query or fragment", name, u)
	}
	return strings.TrimSuffix(u, "/"), nil
}

// ARNPartition returns the partition an ARN names (arn:<partition>:…), "" when arn is no ARN.
func ARNPartition(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) < 3 || parts[0] != "arn" {
		return ""
	}
	return parts[1]
}
