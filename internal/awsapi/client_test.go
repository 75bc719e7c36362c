package awsapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"

	"shipyard/internal/retry"
)

const (
	testRegion = "eu-north-1"
	testAKID   = "AKIDTEST"
	testSecret = "S3CR3T-never-shown"
	testToken  = "tok-never-shown"
)

// fast retries like DefaultRetry but 4 times, without waiting.
var fast = Retry{Attempts: 4, Sleep: noSleep}

func noSleep(context.Context, time.Duration) error { return nil }

// fakeEC2 is an httptest server that plays EC2: it records the form of every request, checks
// its signature and answers what answer says for the n-th (0-based) request.
type fakeEC2 struct {
	t      *testing.T
	srv    *httptest.Server
	creds  Credentials
	answer func(n int, form url.Values) (status int, body string)

	mu    sync.Mutex
	forms []url.Values
}

func newFakeEC2(t *testing.T, creds Credentials, answer func(n int, form url.Values) (int, string)) *fakeEC2 {
	f := &fakeEC2{t: t, creds: creds, answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeEC2) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		f.t.Errorf("request %s %s, want POST /", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded; charset=utf-8" {
		f.t.Errorf("Content-Type = %q", ct)
	}
	f.checkSignature(r, body)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		f.t.Errorf("body %q is no form: %v", body, err)
	}
	f.mu.Lock()
	n := len(f.forms)
	f.forms = append(f.forms, form)
	f.mu.Unlock()
	status, answer := f.answer(n, form)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

// checkSignature recomputes the request's signature from the headers it says it signed.
func (f *fakeEC2) checkSignature(r *http.Request, body []byte) {
	auth := r.Header.Get("Authorization")
	m := regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/ec2/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`).FindStringSubmatch(auth)
	if m == nil {
		f.t.Errorf("Authorization %q is no SigV4 header for ec2", auth)
		return
	}
	if m[1] != f.creds.AccessKeyID || m[3] != testRegion {
		f.t.Errorf("Authorization %q: key id or region wrong", auth)
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != m[2] || time.Since(at) > time.Minute {
		f.t.Errorf("X-Amz-Date %q does not fit the scope date %s or is stale", r.Header.Get("X-Amz-Date"), m[2])
	}
	if got := r.Header.Get("X-Amz-Security-Token"); got != f.creds.SessionToken {
		f.t.Errorf("X-Amz-Security-Token = %q, want %q", got, f.creds.SessionToken)
	}
	re, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), strings.NewReader(string(body)))
	for _, h := range strings.Split(m[4], ";") {
		if h != "host" && h != "content-length" {
			re.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	re.Header.Set("X-Amz-Date", r.Header.Get("X-Amz-Date"))
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: f.creds.AccessKeyID, SecretAccessKey: f.creds.SecretAccessKey, SessionToken: f.creds.SessionToken},
		re, hex.EncodeToString(sum[:]), "ec2", testRegion, at)
	if err != nil || re.Header.Get("Authorization") != auth {
		f.t.Errorf("signature does not verify:\n got %s\nwant %s", auth, re.Header.Get("Authorization"))
	}
}

func (f *fakeEC2) requests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...)
}

func (f *fakeEC2) client(t *testing.T) *Client {
	c, err := New(testRegion, f.srv.URL, f.creds, f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c.WithRetry(fast)
}

var testCreds = Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}

// flat turns a form into a map of single values.
func flat(t *testing.T, f url.Values) map[string]string {
	m := map[string]string{}
	for k, v := range f {
		if len(v) != 1 {
			t.Errorf("form key %s has %d values", k, len(v))
		}
		m[k] = v[0]
	}
	return m
}

func ok(int, url.Values) (int, string) {
	return 200, `<Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><return>true</return></Response>`
}

func TestFormEncoding(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		call func(c *Client) error
		want map[string]string
	}{
		{"RunInstances minimal", func(c *Client) error {
			_, err := c.RunInstances(ctx, RunInput{LaunchTemplateID: "lt-1", ClientToken: "tok1"})
			return err
		}, map[string]string{
			"Action": "RunInstances", "Version": "2016-11-15", "MinCount": "1", "MaxCount": "1",
			"LaunchTemplate.LaunchTemplateId": "lt-1", "ClientToken": "tok1",
		}},
		{"RunInstances everything", func(c *Client) error {
			_, err := c.RunInstances(ctx, RunInput{
				LaunchTemplateID: "lt-1", LaunchTemplateVersion: "7", SubnetID: "subnet-a",
				UserData: "#!/bin/sh\necho hi & bye\n", Spot: true, SpotMaxPrice: "0.05",
				TerminateOnShutdown: true, ClientToken: "tok2",
				Tags: []Tag{{"Name", "arm builder"}, {"shipyard:job-id", "42"}, {"empty", ""}},
			})
			return err
		}, map[string]string{
			"Action": "RunInstances", "Version": "2016-11-15", "MinCount": "1", "MaxCount": "1",
			"LaunchTemplate.LaunchTemplateId": "lt-1", "LaunchTemplate.Version": "7", "SubnetId": "subnet-a",
			"UserData":                          base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hi & bye\n")),
			"InstanceInitiatedShutdownBehavior": "terminate",
			"TagSpecification.1.ResourceType":   "instance",
			"TagSpecification.1.Tag.1.Key":      "Name", "TagSpecification.1.Tag.1.Value": "arm builder",
			"TagSpecification.1.Tag.2.Key": "shipyard:job-id", "TagSpecification.1.Tag.2.Value": "42",
			"TagSpecification.1.Tag.3.Key": "empty", "TagSpecification.1.Tag.3.Value": "",
			"InstanceMarketOptions.MarketType":                               "spot",
			"InstanceMarketOptions.SpotOptions.SpotInstanceType":             "one-time",
			"InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior": "terminate",
			"InstanceMarketOptions.SpotOptions.MaxPrice":                     "0.05",
			"ClientToken": "tok2",
		}},
		{"StartInstances", func(c *Client) error { _, err := c.StartInstances(ctx, "i-1", "i-2"); return err },
			map[string]string{"Action": "StartInstances", "Version": "2016-11-15", "InstanceId.1": "i-1", "InstanceId.2": "i-2"}},
		{"StopInstances", func(c *Client) error { _, err := c.StopInstances(ctx, "i-1"); return err },
			map[string]string{"Action": "StopInstances", "Version": "2016-11-15", "InstanceId.1": "i-1"}},
		{"TerminateInstances", func(c *Client) error { _, err := c.TerminateInstances(ctx, "i-1"); return err },
			map[string]string{"Action": "TerminateInstances", "Version": "2016-11-15", "InstanceId.1": "i-1"}},
		{"DescribeInstances by id", func(c *Client) error { _, err := c.DescribeInstances(ctx, []string{"i-1", "i-2"}, nil); return err },
			map[string]string{"Action": "DescribeInstances", "Version": "2016-11-15", "InstanceId.1": "i-1", "InstanceId.2": "i-2"}},
		{"DescribeInstances by filters", func(c *Client) error {
			_, err := c.DescribeInstances(ctx, nil, []Filter{
				{"tag:shipyard:job-id", []string{"42"}},
				{"instance-state-name", []string{"pending", "running"}},
			})
			return err
		}, map[string]string{
			"Action": "DescribeInstances", "Version": "2016-11-15",
			"Filter.1.Name": "tag:shipyard:job-id", "Filter.1.Value.1": "42",
			"Filter.2.Name": "instance-state-name", "Filter.2.Value.1": "pending", "Filter.2.Value.2": "running",
		}},
		{"DescribeLaunchTemplateVersions of one version", func(c *Client) error {
			_, err := c.DescribeLaunchTemplateVersions(ctx, "lt-1", "$Default")
			return err
		}, map[string]string{"Action": "DescribeLaunchTemplateVersions", "Version": "2016-11-15", "LaunchTemplateId": "lt-1", "LaunchTemplateVersion.1": "$Default"}},
		{"DescribeLaunchTemplateVersions of every version", func(c *Client) error {
			_, err := c.DescribeLaunchTemplateVersions(ctx, "lt-1")
			return err
		}, map[string]string{"Action": "DescribeLaunchTemplateVersions", "Version": "2016-11-15", "LaunchTemplateId": "lt-1"}},
		{"GetConsoleOutput", func(c *Client) error { _, err := c.GetConsoleOutput(ctx, "i-1"); return err },
			map[string]string{"Action": "GetConsoleOutput", "Version": "2016-11-15", "InstanceId": "i-1", "Latest": "true"}},
		{"CreateTags", func(c *Client) error {
			return c.CreateTags(ctx, []string{"i-1", "vol-2"}, []Tag{{"a", "1"}, {"b c", "x=y&z"}})
		}, map[string]string{
			"Action": "CreateTags", "Version": "2016-11-15", "ResourceId.1": "i-1", "ResourceId.2": "vol-2",
			"Tag.1.Key": "a", "Tag.1.Value": "1", "Tag.2.Key": "b c", "Tag.2.Value": "x=y&z",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEC2(t, testCreds, ok)
			if err := tt.call(f.client(t)); err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			if diff := cmp.Diff(tt.want, flat(t, reqs[0])); diff != "" {
				t.Errorf("form (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientTokenMadePerCall(t *testing.T) {
	f := newFakeEC2(t, Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: testToken}, ok)
	c := f.client(t)
	for range 2 {
		if _, err := c.RunInstances(context.Background(), RunInput{LaunchTemplateID: "lt-1"}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := f.requests()
	a, b := reqs[0].Get("ClientToken"), reqs[1].Get("ClientToken")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a) || a == b {
		t.Errorf("client tokens %q, %q: want two different 32-hex tokens", a, b)
	}
}

const instanceXML = `
<item>
  <instanceId>%s</instanceId>
  <imageId>ami-1</imageId>
  <instanceType>c7g.large</instanceType>
  <instanceState><code>16</code><name>%s</name></instanceState>
  <stateReason><code>Client.UserInitiatedShutdown</code><message>Client.UserInitiatedShutdown: User initiated shutdown</message></stateReason>
  <ipAddress>203.0.113.7</ipAddress>
  <instanceLifecycle>spot</instanceLifecycle>
  <subnetId>subnet-a</subnetId>
  <groupSet><item><groupId>sg-1</groupId><groupName>default</groupName></item></groupSet>
  <networkInterfaceSet><item><networkInterfaceId>eni-1</networkInterfaceId><subnetId>subnet-other</subnetId>
    <tagSet><item><key>eni-tag</key><value>no</value></item></tagSet></item></networkInterfaceSet>
  <tagSet>
    <item><key>Name</key><value>arm builder</value></item>
    <item><key>shipyard:job-id</key><value>42</value></item>
  </tagSet>
</item>`

func TestDecoding(t *testing.T) {
	ctx := context.Background()
	want := func(id, state string) Instance {
		return Instance{ID: id, Type: "c7g.large", State: state, StateReason: "Client.UserInitiatedShutdown: User initiated shutdown",
			PublicIP: "203.0.113.7", Lifecycle: "spot", SubnetID: "subnet-a",
			Tags: []Tag{{"Name", "arm builder"}, {"shipyard:job-id", "42"}}}
	}
	t.Run("RunInstances", func(t *testing.T) {
		f := newFakeEC2(t, testCreds, func(int, url.Values) (int, string) {
			return 200, `<?xml version="1.0" encoding="UTF-8"?>
<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<requestId>r-1</requestId><reservationId>r-abc</reservationId><ownerId>123</ownerId>
<groupSet/><instancesSet>` + fmt.Sprintf(instanceXML, "i-1", "pending") + `</instancesSet></RunInstancesResponse>`
		})
		got, err := f.client(t).RunInstances(ctx, RunInput{LaunchTemplateID: "lt-1"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]Instance{want("i-1", "pending")}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if got[0].Tag("shipyard:job-id") != "42" || got[0].Tag("eni-tag") != "" {
			t.Errorf("Tag reads the wrong tags: %+v", got[0].Tags)
		}
	})
	t.Run("DescribeInstances follows nextToken", func(t *testing.T) {
		f := newFakeEC2(t, testCreds, func(n int, form url.Values) (int, string) {
			switch form.Get("NextToken") {
			case "":
				return 200, `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId>
<reservationSet>
 <item><reservationId>r-1</reservationId><instancesSet>` + fmt.Sprintf(instanceXML, "i-1", "running") + fmt.Sprintf(instanceXML, "i-2", "stopped") + `</instancesSet></item>
 <item><reservationId>r-2</reservationId><instancesSet>` + fmt.Sprintf(instanceXML, "i-3", "running") + `</instancesSet></item>
</reservationSet><nextToken>page-2</nextToken></DescribeInstancesResponse>`
			case "page-2":
				return 200, `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>2</requestId>
<reservationSet><item><reservationId>r-3</reservationId><instancesSet>` + fmt.Sprintf(instanceXML, "i-4", "terminated") + `</instancesSet></item></reservationSet>
</DescribeInstancesResponse>`
			}
			return 400, "unexpected token"
		})
		got, err := f.client(t).DescribeInstances(ctx, nil, []Filter{{"tag:a", []string{"b"}}})
		if err != nil {
			t.Fatal(err)
		}
		wantAll := []Instance{want("i-1", "running"), want("i-2", "stopped"), want("i-3", "running"), want("i-4", "terminated")}
		if diff := cmp.Diff(wantAll, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		reqs := f.requests()
		if len(reqs) != 2 || reqs[1].Get("NextToken") != "page-2" || reqs[1].Get("Filter.1.Name") != "tag:a" || reqs[0].Has("MaxResults") {
			t.Errorf("requests %v: want a second page with NextToken and the same filters", reqs)
		}
	})
	t.Run("DescribeInstances of nothing", func(t *testing.T) {
		f := newFakeEC2(t, testCreds, func(int, url.Values) (int, string) {
			return 200, `<DescribeInstancesResponse><requestId>1</requestId><reservationSet/></DescribeInstancesResponse>`
		})
		got, err := f.client(t).DescribeInstances(ctx, []string{"i-1"}, nil)
		if err != nil || len(got) != 0 {
			t.Errorf("DescribeInstances = %v, %v; want no instances", got, err)
		}
	})
	t.Run("DescribeLaunchTemplateVersions follows nextToken", func(t *testing.T) {
		f := newFakeEC2(t, testCreds, func(n int, form url.Values) (int, string) {
			switch form.Get("NextToken") {
			case "":
				return 200, `<DescribeLaunchTemplateVersionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId>
<launchTemplateVersionSet>
 <item><createTime>2026-01-05T10:00:00.000Z</createTime><defaultVersion>true</defaultVersion>
  <launchTemplateData><imageId>ami-1</imageId><instanceType>c7g.large</instanceType>
   <networkInterfaceSet><item><deviceIndex>0</deviceIndex><subnetId>subnet-a</subnetId></item></networkInterfaceSet>
   <tagSpecificationSet><item><resourceType>instance</resourceType><tagSet><item><key>instanceType</key><value>no</value></item></tagSet></item></tagSpecificationSet>
  </launchTemplateData>
  <launchTemplateId>lt-1</launchTemplateId><launchTemplateName>arm</launchTemplateName><versionNumber>3</versionNumber></item>
</launchTemplateVersionSet><nextToken>page-2</nextToken></DescribeLaunchTemplateVersionsResponse>`
			case "page-2":
				return 200, `<DescribeLaunchTemplateVersionsResponse><requestId>2</requestId><launchTemplateVersionSet>
 <item><defaultVersion>false</defaultVersion><launchTemplateData><imageId>ami-1</imageId></launchTemplateData>
  <launchTemplateId>lt-1</launchTemplateId><versionNumber>4</versionNumber></item>
</launchTemplateVersionSet></DescribeLaunchTemplateVersionsResponse>`
			}
			return 400, "unexpected token"
		})
		got, err := f.client(t).DescribeLaunchTemplateVersions(ctx, "lt-1")
		if err != nil {
			t.Fatal(err)
		}
		want := []LaunchTemplateVersion{{TemplateID: "lt-1", Number: 3, Default: true, InstanceType: "c7g.large"}, {TemplateID: "lt-1", Number: 4}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if reqs := f.requests(); len(reqs) != 2 || reqs[1].Get("NextToken") != "page-2" || reqs[1].Get("LaunchTemplateId") != "lt-1" {
			t.Errorf("requests %v: want a second page with NextToken and the same template", reqs)
		}
	})
	for _, action := range []string{"StartInstances", "StopInstances", "TerminateInstances"} {
		t.Run(action, func(t *testing.T) {
			f := newFakeEC2(t, testCreds, func(int, url.Values) (int, string) {
				return 200, `<` + action + `Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId><instancesSet>
<item><instanceId>i-1</instanceId><currentState><code>64</code><name>stopping</name></currentState><previousState><code>16</code><name>running</name></previousState></item>
<item><instanceId>i-2</instanceId><currentState><code>80</code><name>stopped</name></currentState><previousState><code>80</code><name>stopped</name></previousState></item>
</instancesSet></` + action + `Response>`
			})
			c := f.client(t)
			call := map[string]func(context.Context, ...string) ([]StateChange, error){
				"StartInstances": c.StartInstances, "StopInstances": c.StopInstances, "TerminateInstances": c.TerminateInstances,
			}[action]
			got, err := call(ctx, "i-1", "i-2")
			if err != nil {
				t.Fatal(err)
			}
			want := []StateChange{{"i-1", "running", "stopping"}, {"i-2", "stopped", "stopped"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func ec2Error(code, msg string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>` + code + `</Code><Message>` + msg + `</Message></Error></Errors><RequestID>req-` + code + `</RequestID></Response>`
}

func stsError(code, msg string) string {
	return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>` + code + `</Code><Message>` + msg + `</Message></Error>
  <RequestId>sts-req</RequestId>
</ErrorResponse>`
}

func TestErrors(t *testing.T) {
	long := strings.Repeat("x", 500)
	tests := []struct {
		name      string
		status    int
		body      string
		want      APIError
		text      string
		transient bool
	}{
		{"capacity", 500, ec2Error("InsufficientInstanceCapacity", "There is no capacity"),
			APIError{"RunInstances", "InsufficientInstanceCapacity", "There is no capacity", "req-InsufficientInstanceCapacity", 500},
			"EC2 RunInstances: InsufficientInstanceCapacity: There is no capacity (HTTP 500, request id req-InsufficientInstanceCapacity)", false},
		{"not found", 400, ec2Error("InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist"),
			APIError{"RunInstances", "InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist", "req-InvalidInstanceID.NotFound", 400},
			"EC2 RunInstances: InvalidInstanceID.NotFound: The instance ID 'i-1' does not exist (HTTP 400, request id req-InvalidInstanceID.NotFound)", false},
		{"throttled", 503, ec2Error("RequestLimitExceeded", "Request limit exceeded."),
			APIError{"RunInstances", "RequestLimitExceeded", "Request limit exceeded.", "req-RequestLimitExceeded", 503},
			"EC2 RunInstances: RequestLimitExceeded: Request limit exceeded. (HTTP 503, request id req-RequestLimitExceeded)", true},
		{"throttled with 400", 400, ec2Error("Throttling", "Rate exceeded"),
			APIError{"RunInstances", "Throttling", "Rate exceeded", "req-Throttling", 400},
			"EC2 RunInstances: Throttling: Rate exceeded (HTTP 400, request id req-Throttling)", true},
		{"internal", 500, ec2Error("InternalError", "An internal error has occurred"),
			APIError{"RunInstances", "InternalError", "An internal error has occurred", "req-InternalError", 500},
			"EC2 RunInstances: InternalError: An internal error has occurred (HTTP 500, request id req-InternalError)", true},
		{"unavailable", 503, ec2Error("Unavailable", "The server is overloaded"),
			APIError{"RunInstances", "Unavailable", "The server is overloaded", "req-Unavailable", 503},
			"EC2 RunInstances: Unavailable: The server is overloaded (HTTP 503, request id req-Unavailable)", true},
		{"unauthorized", 403, ec2Error("UnauthorizedOperation", "You are not authorized"),
			APIError{"RunInstances", "UnauthorizedOperation", "You are not authorized", "req-UnauthorizedOperation", 403},
			"EC2 RunInstances: UnauthorizedOperation: You are not authorized (HTTP 403, request id req-UnauthorizedOperation)", false},
		{"STS form", 400, stsError("InvalidIdentityToken", "Couldn't retrieve verification key"),
			APIError{"RunInstances", "InvalidIdentityToken", "Couldn't retrieve verification key", "sts-req", 400},
			"EC2 RunInstances: InvalidIdentityToken: Couldn't retrieve verification key (HTTP 400, request id sts-req)", false},
		{"identity provider unreachable", 400, stsError("IDPCommunicationError", "The identity provider could not be reached"),
			APIError{"RunInstances", "IDPCommunicationError", "The identity provider could not be reached", "sts-req", 400},
			"EC2 RunInstances: IDPCommunicationError: The identity provider could not be reached (HTTP 400, request id sts-req)", true},
		{"not XML 502", 502, "<html><body>Bad Gateway</body></html>",
			APIError{"RunInstances", "", "<html><body>Bad Gateway</body></html>", "", 502},
			"EC2 RunInstances: <html><body>Bad Gateway</body></html> (HTTP 502)", true},
		{"not XML 429", 429, "slow down", APIError{"RunInstances", "", "slow down", "", 429},
			"EC2 RunInstances: slow down (HTTP 429)", true},
		{"not XML 403", 403, "go away", APIError{"RunInstances", "", "go away", "", 403},
			"EC2 RunInstances: go away (HTTP 403)", false},
		{"other XML", 400, "<Error><Code>NoSuchKey</Code></Error>", APIError{"RunInstances", "", "<Error><Code>NoSuchKey</Code></Error>", "", 400},
			"EC2 RunInstances: <Error><Code>NoSuchKey</Code></Error> (HTTP 400)", false},
		{"long body is cut", 500, long, APIError{"RunInstances", "", long[:200], "", 500},
			"EC2 RunInstances: " + long[:200] + " (HTTP 500)", true},
		{"empty body", 504, "", APIError{"RunInstances", "", "", "", 504},
			"EC2 RunInstances: empty error answer (HTTP 504)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEC2(t, testCreds, func(int, url.Values) (int, string) { return tt.status, tt.body })
			_, err := f.client(t).WithRetry(Retry{Attempts: 1}).RunInstances(context.Background(), RunInput{LaunchTemplateID: "lt-1"})
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is no *APIError", err)
			}
			if diff := cmp.Diff(tt.want, *ae); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if err.Error() != tt.text {
				t.Errorf("text\n got %s\nwant %s", err, tt.text)
			}
			if retry.Transient(err) != tt.transient {
				t.Errorf("Transient = %v, want %v", !tt.transient, tt.transient)
			}
			if CodeOf(fmt.Errorf("wrapped: %w", err)) != tt.want.Code {
				t.Errorf("CodeOf = %q, want %q", CodeOf(err), tt.want.Code)
			}
		})
	}
	if CodeOf(errors.New("x")) != "" || CodeOf(nil) != "" {
		t.Error("CodeOf of an error without *APIError is not empty")
	}
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	t.Run("throttled twice then success", func(t *testing.T) {
		f := newFakeEC2(t, testCreds, func(n int, _ url.Values) (int, string) {
			if n < 2 {
				return 503, ec2Error("RequestLimitExceeded", "Request limit exceeded.")
			}
			return 200, `<RunInstancesResponse><instancesSet>` + fmt.Sprintf(instanceXML, "i-1", "pending") + `</instancesSet></RunInstancesResponse>`
		})
		got, err := f.client(t).RunInstances(ctx, RunInput{LaunchTemplateID: "lt-1"})
		if err != nil || len(got) != 1 || got[0].ID != "i-1" {
			t.Fatalf("RunInstances = %v, %v", got, err)
		}
		reqs := f.requests()
		if len(reqs) != 3 {
			t.Fatalf("%d requests, want 3", len(reqs))
		}
		tok := reqs[0].Get("ClientToken")
		for i, r := range reqs {
			if r.Get("ClientToken") != tok || tok == "" {
				t.Errorf("request %d has client token %q, want %q for every attempt", i, r.Get("ClientToken"), tok)
			}
		}
	})
	t.Run("attempts spent", func(t *testing.T) {
		f := newFakeEC2(t, testCreds, func(int, url.Values) (int, string) { return 500, ec2Error("InternalError", "boom") })
		_, err := f.client(t).DescribeInstances(ctx, []string{"i-1"}, nil)
		if n := len(f.requests()); n != 4 || CodeOf(err) != "InternalError" || !strings.HasPrefix(err.Error(), "giving up after 4 attempts: EC2 DescribeInstances: InternalError") {
			t.Errorf("%d requests, error %v; want 4 requests and the last error", n, err)
		}
	})
	for _, tt := range []struct {
		status int
		code   string
	}{{500, "InsufficientInstanceCapacity"}, {400, "InvalidInstanceID.NotFound"}, {400, "InvalidParameterValue"}} {
		t.Run(tt.code+" is not retried", func(t *testing.T) {
			f := newFakeEC2(t, testCreds, func(int, url.Values) (int, string) { return tt.status, ec2Error(tt.code, "no") })
			_, err := f.client(t).RunInstances(ctx, RunInput{LaunchTemplateID: "lt-1", SubnetID: "subnet-a"})
			if n := len(f.requests()); n != 1 || CodeOf(err) != tt.code {
				t.Errorf("%d requests, CodeOf = %q; want 1 request and %s", n, CodeOf(err), tt.code)
			}
		})
	}
	t.Run("connection refused is retried and returned as it is", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		c, err := New(testRegion, srv.URL, testCreds, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.WithRetry(Retry{Attempts: 2, Sleep: noSleep}).DescribeInstances(ctx, nil, nil)
		if !errors.Is(err, syscall.ECONNREFUSED) || !strings.HasPrefix(err.Error(), "giving up after 2 attempts: EC2 DescribeInstances: ") || CodeOf(err) != "" {
			t.Errorf("error %v: want ECONNREFUSED, retried, named by the action", err)
		}
	})
	t.Run("answer that is no XML", func(t *testing.T) {
		f := newFakeEC2(t, testCreds, func(int, url.Values) (int, string) { return 200, "not xml" })
		_, err := f.client(t).DescribeInstances(ctx, nil, nil)
		if n := len(f.requests()); err == nil || n != 1 || !strings.HasPrefix(err.Error(), "EC2 DescribeInstances: decoding the answer") {
			t.Errorf("%d requests, error %v; want 1 request and a decoding error", n, err)
		}
	})
}

func TestNew(t *testing.T) {
	_, err := New("", "", Credentials{}, nil)
	want := "creating EC2 client: region is empty: set AWS_DEFAULT_REGION\n" +
		"AWS access key id is empty: provide the builder account's access key id (e.g. the AWS_ACCESS_KEY_ID CI variable)\n" +
		"AWS secret access key is empty: provide it as a masked CI variable (e.g. AWS_SECRET_ACCESS_KEY)"
	if err == nil || err.Error() != want {
		t.Errorf("New with nothing = %v, want\n%s", err, want)
	}
	_, err = New(testRegion, "", Credentials{SecretAccessKey: testSecret, SessionToken: testToken}, nil)
	if err == nil || !strings.Contains(err.Error(), "access key id is empty") || strings.Contains(err.Error(), "region") || strings.Contains(err.Error(), "secret access key is empty") {
		t.Errorf("New without key id = %v", err)
	}
	c, err := New(testRegion, "", testCreds, nil)
	if err != nil || c.endpoint != "https://ec2.eu-north-1.amazonaws.com" || c.hc != http.DefaultClient || c.retry.Attempts != DefaultRetry.Attempts {
		t.Errorf("New = %+v, %v; want the regional endpoint, the default HTTP client and DefaultRetry", c, err)
	}
	if c.WithRetry(fast).retry.Attempts != fast.Attempts || c.retry.Attempts != DefaultRetry.Attempts {
		t.Error("WithRetry does not return a copy with the policy")
	}
	if c, err := New("cn-north-1", "", testCreds, nil); err != nil || c.endpoint != "https://ec2.cn-north-1.amazonaws.com.cn" {
		t.Errorf("New in cn-north-1 = %+v, %v; want the endpoint of the aws-cn partition", c, err)
	}
}

// TestSecretsNeverInErrors makes every kind of error with the secret access key, the session
// token and the web identity token about, some of them echoed by the server.
func TestSecretsNeverInErrors(t *testing.T) {
	ctx := context.Background()
	var errs []error
	_, err := New("", "", Credentials{SecretAccessKey: testSecret, SessionToken: testToken}, nil)
	errs = append(errs, err)
	_, err = New(testRegion, "", Credentials{AccessKeyID: testAKID, SessionToken: testToken}, nil)
	errs = append(errs, err)

	creds := Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: testToken}
	echo := func(n int, f url.Values) (int, string) {
		switch n % 5 {
		case 4:
			return 200, "<Response></" + testToken + ">" // the XML error quotes the end tag
		case 0:
			return 403, ec2Error("SignatureDoesNotMatch", "canonical request: x-amz-security-token:"+testToken+" key "+testSecret)
		case 1:
			return 502, "proxy saw token " + testToken + " and secret " + testSecret
		case 2:
			return 400, stsError("AuthFailure", testToken)
		default:
			return 200, "<broken " + testToken
		}
	}
	f := newFakeEC2(t, creds, echo)
	c := f.client(t).WithRetry(Retry{Attempts: 1})
	for range 5 {
		_, err := c.DescribeInstances(ctx, nil, nil)
		errs = append(errs, err)
	}
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.WriteHeader(400)
		io.WriteString(w, stsError("InvalidIdentityToken", "token "+r.Form.Get("WebIdentityToken")+" is bad"))
	}))
	defer sts.Close()
	_, err = assumeRole(ctx, nil, sts.URL, "arn:aws:iam::1:role/r", "s", testToken)
	errs = append(errs, err)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	_, err = assumeRole(ctx, nil, closed.URL, "arn:aws:iam::1:role/r", "s", testToken)
	errs = append(errs, err)
	// an EC2 call whose credentials STS refused
	p, err := WebIdentity{RoleARN: "arn:aws:iam::1:role/r", SessionName: "s", Token: TokenString(testToken)}.Provider(STSConfig{Region: testRegion, Endpoint: sts.URL, Retry: fast})
	if err != nil {
		t.Fatal(err)
	}
	wc, err := NewWithProvider(testRegion, f.srv.URL, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = wc.WithRetry(fast).DescribeInstances(ctx, nil, nil)
	errs = append(errs, err)

	for i, err := range errs {
		if err == nil {
			t.Errorf("error %d is nil", i)
			continue
		}
		for _, s := range []string{testSecret, testToken} {
			if strings.Contains(err.Error(), s) || (errors.Unwrap(err) != nil && strings.Contains(errors.Unwrap(err).Error(), s)) {
				t.Errorf("error %d shows a secret: %v", i, err)
			}
		}
	}
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	ctx := context.Background()
	var got url.Values
	answer := ""
	status := 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || r.Header.Get("X-Amz-Security-Token") != "" || r.Method != http.MethodPost || r.URL.Path != "/" {
			t.Errorf("STS request %s %s with Authorization %q: want an unsigned POST /", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		body, _ := io.ReadAll(r.Body)
		got, _ = url.ParseQuery(string(body))
		w.Header().Set("X-Amzn-Requestid", "sts-req")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	const role = "arn:aws:iam::123456789012:role/arm-builder"

	answer = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>project_path:group/app</SubjectFromWebIdentityToken>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/arm-builder/job-42</Arn><AssumedRoleId>AROA:job-42</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <SessionToken>FQoGZXIvYXdz</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI</SecretAccessKey>
      <Expiration>2026-12-04T02:00:00Z</Expiration>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
    </Credentials>
    <Audience>https://gitlab.com</Audience>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`
	creds, err := assumeRole(ctx, srv.Client(), srv.URL, role, "job-42", testToken)
	if err != nil {
		t.Fatal(err)
	}
	// the cache replaces them RefreshWindow before the session ends
	want := Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI", SessionToken: "FQoGZXIvYXdz",
		Expires: time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC).Add(-RefreshWindow)}
	if diff := cmp.Diff(want, creds); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}
	wantForm := map[string]string{"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": role,
		"RoleSessionName": "job-42", "WebIdentityToken": testToken}
	if diff := cmp.Diff(wantForm, flat(t, got)); diff != "" {
		t.Errorf("form (-want +got):\n%s", diff)
	}

	answer = `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult/></AssumeRoleWithWebIdentityResponse>`
	if _, err := assumeRole(ctx, nil, srv.URL, role, "job-42", testToken); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("answer without credentials: error %v", err)
	}

	status, answer = 400, stsError("InvalidIdentityToken", "No OpenIDConnect provider found")
	_, err = assumeRole(ctx, nil, srv.URL, role, "job-42", testToken)
	if wantErr := "STS AssumeRoleWithWebIdentity: InvalidIdentityToken: No OpenIDConnect provider found (HTTP 400, request id sts-req)"; err == nil || err.Error() != wantErr || CodeOf(err) != "InvalidIdentityToken" {
		t.Errorf("STS error = %v, want %s", err, wantErr)
	}
}

// assumeRole retrieves the credentials of a web identity from the STS at endpoint once, retried
// as fast does.
func assumeRole(ctx context.Context, hc *http.Client, endpoint, role, session, token string) (Credentials, error) {
	p, err := WebIdentity{RoleARN: role, SessionName: session, Token: TokenString(token)}.Provider(STSConfig{Region: testRegion, Endpoint: endpoint, HTTPClient: hc, Retry: fast})
	if err != nil {
		return Credentials{}, err
	}
	c, err := p.Retrieve(ctx)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expires: c.Expires}, nil
}
