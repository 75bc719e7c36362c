package e2c

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// NewClient returns an EC2 client for region that signs with the given
// static credentials and talks to endpoint ("" means the AWS default
// endpoint, a URL such as http://127.0.0.1:5000 is for a test server). The
// secret never appears in errors or logs. opts adjust the client further (e.g. its HTTPClient).
func NewClient(ctx context.Context, region, endpoint, accessKeyID, secretAccessKey string, opts ...func(*ec2.Options)) (*ec2.Client, error) {
	var errs []error
	if region == "" {
		errs = append(errs, errors.New("region is empty: set AWS_DEFAULT_REGION"))
	}
	if accessKeyID == "" {
		errs = append(errs, errors.New("AWS access key id is empty: provide the builder account's access key id (e.g. the AWS_ACCESS_KEY_ID CI variable)"))
	}
	if secretAccessKey == "" {
		errs = append(errs, errors.New("AWS secret access key is empty: provide it as a masked CI variable (e.g. AWS_SECRET_ACCESS_KEY)"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("creating EC2 client: %w", errors.Join(errs...))
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, "")),
	)
	if err != nil {
		return nil, fmt.Errorf("creating EC2 client for %s: %w", region, err)
	}
	return ec2.NewFromConfig(cfg, append([]func(*ec2.Options){func(o *ec2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = &endpoint
		}
	}}, opts...)...), nil
}
