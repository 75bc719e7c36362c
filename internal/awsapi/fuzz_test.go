package awsapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// cannedAnswer is an http.RoundTripper that answers every request with one status and body, so
// that the fuzz target reaches the decoding without a server.
type cannedAnswer struct {
	status int
	body   []byte
}

func (a cannedAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: a.status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(a.body)), Request: req}, nil
}

// fuzzActions are the client's calls, each answered with the fuzzed answer; the action byte of
// FuzzAnswers picks one.
var fuzzActions = []struct {
	name string
	call func(ctx context.Context, c *Client, hc *http.Client) error
}{
	{"RunInstances", func(ctx context.Context, c *Client, _ *http.Client) error {
		_, err := c.RunInstances(ctx, RunInput{LaunchTemplateID: "lt-1"})
		return err
	}},
	{"StopInstances", func(ctx context.Context, c *Client, _ *http.Client) error {
		_, err := c.StopInstances(ctx, "i-1")
		return err
	}},
	{"DescribeInstances", func(ctx context.Context, c *Client, _ *http.Client) error {
		_, err := c.DescribeInstances(ctx, nil, []Filter{{"tag:a", []string{"b"}}})
		return err
	}},
	{"DescribeLaunchTemplateVersions", func(ctx context.Context, c *Client, _ *http.Client) error {
		_, err := c.DescribeLaunchTemplateVersions(ctx, "lt-1")
		return err
	}},
	{"CreateTags", func(ctx context.Context, c *Client, _ *http.Client) error {
		return c.CreateTags(ctx, []string{"i-1"}, []Tag{{"k", "v"}})
	}},
	{"GetConsoleOutput", func(ctx context.Context, c *Client, _ *http.Client) error {
		_, err := c.GetConsoleOutput(ctx, "i-1")
		return err
	}},
	{"AssumeRoleWithWebIdentity", func(ctx context.Context, _ *Client, hc *http.Client) error {
		p, err := WebIdentity{RoleARN: "arn:aws:iam::1:role/r", SessionName: "s", Token: TokenString(testToken)}.
			Provider(STSConfig{Region: testRegion, Endpoint: "http://sts.invalid", HTTPClient: hc, Retry: Retry{Attempts: 1}})
		if err == nil {
			_, err = p.Retrieve(ctx)
		}
		return err
	}},
}

// FuzzAnswers: whatever EC2 or STS answer, the client does not panic; an answer that is not 2xx
// is an *APIError with its status; and no error shows a secret of the call: the secret access
// key and the session token of an EC2 call, the web identity token of STS's. The seeds are the answers the other tests of this package use.
func FuzzAnswers(f *testing.F) {
	action := func(name string) uint8 {
		for i, a := range fuzzActions {
			if a.name == name {
				return uint8(i)
			}
		}
		panic(name)
	}
	state := func(name string) string {
		return `<` + name + `Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId><instancesSet>
<item><instanceId>i-1</instanceId><currentState><code>64</code><name>stopping</name></currentState><previousState><code>16</code><name>running</name></previousState></item>
</instancesSet></` + name + `Response>`
	}
	seeds := []struct {
		action string
		status uint16
		body   string
	}{
		{"RunInstances", 200, `<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><instancesSet>` +
			fmt.Sprintf(instanceXML, "i-1", "pending") + `</instancesSet></RunInstancesResponse>`},
		{"StopInstances", 200, state("StopInstances")},
		{"DescribeInstances", 200, `<DescribeInstancesResponse><requestId>1</requestId><reservationSet><item><instancesSet>` +
			fmt.Sprintf(instanceXML, "i-1", "running") + `</instancesSet></item></reservationSet><nextToken>page-2</nextToken></DescribeInstancesResponse>`},
		{"DescribeLaunchTemplateVersions", 200, `<DescribeLaunchTemplateVersionsResponse><launchTemplateVersionSet><item><defaultVersion>true</defaultVersion>` +
			`<launchTemplateData><instanceType>c7g.large</instanceType></launchTemplateData><launchTemplateId>lt-1</launchTemplateId><versionNumber>3</versionNumber></item></launchTemplateVersionSet></DescribeLaunchTemplateVersionsResponse>`},
		{"CreateTags", 200, `<Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><return>true</return></Response>`},
		{"GetConsoleOutput", 200, consoleAnswer("i-1", "2026-12-05T10:00:02.000Z", "TGludXggdmVyc2lvbiA2LjE=")},
		{"AssumeRoleWithWebIdentity", 200, `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><SessionToken>FQoG</SessionToken>` +
			`<SecretAccessKey>wJal</SecretAccessKey><Expiration>2026-12-04T02:00:00Z</Expiration><AccessKeyId>ASIA</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`},
		{"RunInstances", 500, ec2Error("InsufficientInstanceCapacity", "There is no capacity")},
		{"AssumeRoleWithWebIdentity", 400, stsError("InvalidIdentityToken", "token "+testToken+" is bad")},
		{"DescribeInstances", 403, ec2Error("SignatureDoesNotMatch", "x-amz-security-token:"+testToken+" key "+testSecret)},
		{"DescribeInstances", 502, "proxy saw token " + testToken + " and secret " + testSecret},
		{"DescribeInstances", 200, "<broken " + testToken},
	}
	for _, s := range seeds {
		f.Add(action(s.action), s.status, []byte(s.body))
	}
	creds := Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: testToken}
	f.Fuzz(func(t *testing.T, action uint8, status uint16, body []byte) {
		a := fuzzActions[int(action)%len(fuzzActions)]
		code := int(status)
		if code < 200 || code > 599 {
			code = 200 + code%400
		}
		hc := &http.Client{Transport: cannedAnswer{code, body}}
		c, err := New(testRegion, "http://ec2.invalid", creds, hc)
		if err != nil {
			t.Fatal(err)
		}
		err = a.call(context.Background(), c.WithRetry(Retry{Attempts: 1}), hc)
		if err == nil {
			return
		}
		// STS is asked before there are credentials: its one secret is the web identity token
		secrets := []string{testSecret, testToken}
		if a.name == "AssumeRoleWithWebIdentity" {
			secrets = []string{testToken}
		}
		for _, secret := range secrets {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("%s answered HTTP %d %q: the error shows a secret: %v", a.name, code, body, err)
			}
		}
		var ae *APIError
		if code > 299 && (!errors.As(err, &ae) || ae.StatusCode != code || ae.Action != a.name) {
			t.Fatalf("%s answered HTTP %d %q: error %v, want an *APIError of %s with that status", a.name, code, body, err, a.name)
		}
		if ae != nil && ae.Code == "" && len(ae.Message) > 200 {
			t.Fatalf("%s answered HTTP %d: the message of an answer without a code is %d bytes, want at most 200", a.name, code, len(ae.Message))
		}
	})
}
