package awsapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"shipyard/internal/awsendpoint"
)

// ec2Version is the EC2 API version of the query protocol.
const ec2Version = "2016-11-15"

// Client calls the EC2 API of one region. It is safe for concurrent use.
type Client struct {
	region   string
	endpoint string
	creds    aws.CredentialsProvider
	// static are the secrets of credentials given as they are, for redaction before any call
	static []string
	hc     *http.Client
	retry  Retry
	signer *v4.Signer
	// skew is the offset (ns) from the local clock to AWS's, learnt from a refused signature
	skew *atomic.Int64
}

// New returns a Client for region with the static credentials creds. endpoint "" means EC2's
// endpoint of region's partition; otherwise it is a base URL such as http://127.0.0.1:5000
// (moto). httpClient nil means http.DefaultClient. It fails, naming every missing setting, when
// region, the access key id or the secret access key is empty.
func New(region, endpoint string, creds Credentials, httpClient *http.Client) (*Client, error) {
	var errs []error
	if region == "" {
		errs = append(errs, errors.New("region is empty: set AWS_DEFAULT_REGION"))
	}
	if creds.AccessKeyID == "" {
		errs = append(errs, errors.New("AWS access key id is empty: provide the builder account's access key id (e.g. the AWS_ACCESS_KEY_ID CI variable)"))
	}
	if creds.SecretAccessKey == "" {
		errs = append(errs, errors.New("AWS secret access key is empty: provide it as a masked CI variable (e.g. AWS_SECRET_ACCESS_KEY)"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("creating EC2 client: %w", errors.Join(errs...))
	}
	c, err := NewWithProvider(region, endpoint, StaticProvider(creds), httpClient)
	if err != nil {
		return nil, err
	}
	c.static = []string{creds.SecretAccessKey, creds.SessionToken}
	return c, nil
}

// NewWithProvider returns a Client for region that signs with what provider gives (WebIdentity's
// refreshes them before they expire; a call answered ExpiredToken drops those of a provider with
// an Invalidate method and tries once more). endpoint and httpClient are as for New.
func NewWithProvider(region, endpoint string, provider aws.CredentialsProvider, httpClient *http.Client) (*Client, error) {
	endpoint, err := awsendpoint.Resolve(awsendpoint.EC2, region, endpoint, "the EC2 endpoint (--endpoint, AWS_ENDPOINT_URL_EC2)")
	if err != nil {
		return nil, fmt.Errorf("creating EC2 client: %w", err)
	}
	if region == "" {
		return nil, errors.New("creating EC2 client: region is empty: set AWS_DEFAULT_REGION")
	}
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{region: region, endpoint: endpoint, creds: provider, hc: httpClient, retry: DefaultRetry,
		signer: v4.NewSigner(), skew: new(atomic.Int64)}, nil
}

// WithRetry returns a copy of c that retries with r.
func (c *Client) WithRetry(r Retry) *Client {
	cc := *c
	cc.retry = r
	return &cc
}

// Expires retrieves c's credentials (assuming the role the first time) and returns when the
// client replaces them (zero: never).
func (c *Client) Expires(ctx context.Context) (time.Time, error) {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if !creds.CanExpire {
		return time.Time{}, nil
	}
	return creds.Expires, nil
}

// xmlInstance is an instance in an EC2 answer.
type xmlInstance struct {
	ID          string   `xml:"instanceId"`
	Type        string   `xml:"instanceType"`
	State       string   `xml:"instanceState>name"`
	StateReason string   `xml:"stateReason>message"`
	PublicIP    string   `xml:"ipAddress"`
	Lifecycle   string   `xml:"instanceLifecycle"`
	SubnetID    string   `xml:"subnetId"`
	Tags        []xmlTag `xml:"tagSet>item"`
}

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func (x xmlInstance) instance() Instance {
	inst := Instance{ID: x.ID, Type: x.Type, State: x.State, StateReason: x.StateReason, PublicIP: x.PublicIP,
		Lifecycle: x.Lifecycle, SubnetID: x.SubnetID}
	for _, t := range x.Tags {
		inst.Tags = append(inst.Tags, Tag(t))
	}
	return inst
}

func instances(xs []xmlInstance) []Instance {
	out := make([]Instance, 0, len(xs))
	for _, x := range xs {
		out = append(out, x.instance())
	}
	return out
}

// RunInstances launches one instance from in.LaunchTemplateID and returns it as EC2 first
// describes it. All attempts of one call send the same client token, so a retried call
// launches no second instance.
func (c *Client) RunInstances(ctx context.Context, in RunInput) ([]Instance, error) {
	f := url.Values{"MinCount": {"1"}, "MaxCount": {"1"}, "LaunchTemplate.LaunchTemplateId": {in.LaunchTemplateID}}
	setIf(f, "LaunchTemplate.Version", in.LaunchTemplateVersion)
	setIf(f, "SubnetId", in.SubnetID)
	if in.UserData != "" {
		f.Set("UserData", base64.StdEncoding.EncodeToString([]byte(in.UserData)))
	}
	if in.TerminateOnShutdown {
		f.Set("InstanceInitiatedShutdownBehavior", "terminate")
	}
	if len(in.Tags) > 0 {
		f.Set("TagSpecification.1.ResourceType", "instance")
		addTags(f, "TagSpecification.1.Tag.", in.Tags)
	}
	if in.Spot {
		f.Set("InstanceMarketOptions.MarketType", "spot")
		f.Set("InstanceMarketOptions.SpotOptions.SpotInstanceType", "one-time")
		f.Set("InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "terminate")
		setIf(f, "InstanceMarketOptions.SpotOptions.MaxPrice", in.SpotMaxPrice)
	}
	token := in.ClientToken
	if token == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		token = hex.EncodeToString(b)
	}
	f.Set("ClientToken", token)
	var out struct {
		Instances []xmlInstance `xml:"instancesSet>item"`
	}
	if err := c.call(ctx, "RunInstances", f, &out); err != nil {
		return nil, err
	}
	return instances(out.Instances), nil
}

// StartInstances starts the instances ids.
func (c *Client) StartInstances(ctx context.Context, ids ...string) ([]StateChange, error) {
	return c.changeState(ctx, "StartInstances", ids)
}

// StopInstances stops the instances ids.
func (c *Client) StopInstances(ctx context.Context, ids ...string) ([]StateChange, error) {
	return c.changeState(ctx, "StopInstances", ids)
}

// TerminateInstances terminates the instances ids.
func (c *Client) TerminateInstances(ctx context.Context, ids ...string) ([]StateChange, error) {
	return c.changeState(ctx, "TerminateInstances", ids)
}

func (c *Client) changeState(ctx context.Context, action string, ids []string) ([]StateChange, error) {
	f := url.Values{}
	addList(f, "InstanceId.", ids)
	var out struct {
		Items []struct {
			ID       string `xml:"instanceId"`
			Previous string `xml:"previousState>name"`
			Current  string `xml:"currentState>name"`
		} `xml:"instancesSet>item"`
	}
	if err := c.call(ctx, action, f, &out); err != nil {
		return nil, err
	}
	changes := make([]StateChange, 0, len(out.Items))
	for _, it := range out.Items {
		changes = append(changes, StateChange(it))
	}
	return changes, nil
}

// DescribeInstances returns the instances ids (all when empty) that match every filter. It
// follows NextToken until the last page and returns every instance of every reservation.
func (c *Client) DescribeInstances(ctx context.Context, ids []string, filters []Filter) ([]Instance, error) {
	q := url.Values{}
	addList(q, "InstanceId.", ids)
	for i, flt := range filters {
		p := "Filter." + strconv.Itoa(i+1) + "."
		q.Set(p+"Name", flt.Name)
		addList(q, p+"Value.", flt.Values)
	}
	type answer struct {
		Reservations []struct {
			Instances []xmlInstance `xml:"instancesSet>item"`
		} `xml:"reservationSet>item"`
		NextToken string `xml:"nextToken"`
	}
	var all []Instance
	err := eachPage(ctx, c, "DescribeInstances", q, func(out *answer) string {
		for _, r := range out.Reservations {
			all = append(all, instances(r.Instances)...)
		}
		return out.NextToken
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// DescribeLaunchTemplateVersions returns the versions of the launch template id that versions
// name: numbers, $Latest or $Default (all of them when none is given). It follows NextToken until
// the last page.
func (c *Client) DescribeLaunchTemplateVersions(ctx context.Context, id string, versions ...string) ([]LaunchTemplateVersion, error) {
	q := url.Values{"LaunchTemplateId": {id}}
	addList(q, "LaunchTemplateVersion.", versions)
	type answer struct {
		Versions []struct {
			TemplateID   string `xml:"launchTemplateId"`
			Number       int64  `xml:"versionNumber"`
			Default      bool   `xml:"defaultVersion"`
			InstanceType string `xml:"launchTemplateData>instanceType"`
		} `xml:"launchTemplateVersionSet>item"`
		NextToken string `xml:"nextToken"`
	}
	var all []LaunchTemplateVersion
	err := eachPage(ctx, c, "DescribeLaunchTemplateVersions", q, func(out *answer) string {
		for _, v := range out.Versions {
			all = append(all, LaunchTemplateVersion(v))
		}
		return out.NextToken
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// eachPage calls action with query until the last page: use reads one answer and returns its
// NextToken ("" on the last page). An answer that repeats the token it was asked with is an error.
func eachPage[T any](ctx context.Context, c *Client, action string, query url.Values, use func(*T) string) error {
	token := ""
	for {
		f := url.Values{}
		for k, v := range query {
			f[k] = v
		}
		setIf(f, "NextToken", token)
		var out T
		if err := c.call(ctx, action, f, &out); err != nil {
			return err
		}
		next := use(&out)
		if next == "" {
			return nil
		}
		if next == token {
			return fmt.Errorf("EC2 %s: the answer repeats the page token %q", action, token)
		}
		token = next
	}
}

// CreateTags puts tags on the resources ids (it replaces the values of tags they already have).
func (c *Client) CreateTags(ctx context.Context, ids []string, tags []Tag) error {
	f := url.Values{}
	addList(f, "ResourceId.", ids)
	addTags(f, "Tag.", tags)
	var out struct {
		Return string `xml:"return"`
	}
	return c.call(ctx, "CreateTags", f, &out)
}

// GetConsoleOutput returns the newest console output of the instance id (Latest=true: the
// serial console as it is now, not the copy EC2 buffers at state changes; supported on Nitro
// instances, which every Graviton type is). An output that is not base64 is an error.
func (c *Client) GetConsoleOutput(ctx context.Context, id string) (ConsoleOutput, error) {
	f := url.Values{"InstanceId": {id}, "Latest": {"true"}}
	var out struct {
		InstanceID string `xml:"instanceId"`
		Timestamp  string `xml:"timestamp"`
		Output     string `xml:"output"`
	}
	if err := c.call(ctx, "GetConsoleOutput", f, &out); err != nil {
		return ConsoleOutput{}, err
	}
	co := ConsoleOutput{InstanceID: out.InstanceID}
	if ts := strings.TrimSpace(out.Timestamp); ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return ConsoleOutput{}, fmt.Errorf("EC2 GetConsoleOutput of %s: the timestamp %q is no ISO 8601 time", id, redact(ts, c.secrets()))
		}
		co.Timestamp = t
	}
	// the encoded text may be wrapped: Go's decoder skips line breaks but not spaces or tabs
	enc := strings.Join(strings.Fields(out.Output), "")
	text, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return ConsoleOutput{}, fmt.Errorf("EC2 GetConsoleOutput of %s: the output is not base64: %w", id, err)
	}
	co.Output = string(text)
	return co, nil
}

// call posts the EC2 action with the parameters f, signed afresh for every attempt, retried with
// c's policy, and decodes the XML answer into out. A refused signature with the server's clock
// far from ours is signed again with its time; an expired-credentials answer fetches new ones
// once. A non-2xx answer gives an *APIError whose texts have the secrets removed.
func (c *Client) call(ctx context.Context, action string, f url.Values, out any) error {
	f.Set("Action", action)
	f.Set("Version", ec2Version)
	body := []byte(f.Encode())
	hash := sha256.Sum256(body)
	payload := hex.EncodeToString(hash[:])
	what := "EC2 " + action
	refreshed := false
	return c.retry.do(ctx, func(ctx context.Context, _ int) error {
		creds, err := c.creds.Retrieve(ctx)
		if err != nil {
			return fmt.Errorf("%s: the credentials: %w", what, err)
		}
		secrets := append([]string{creds.SecretAccessKey, creds.SessionToken}, c.static...)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		skew := time.Duration(c.skew.Load())
		if err := c.signer.SignHTTP(ctx, creds, req, payload, "ec2", c.region, time.Now().Add(skew)); err != nil {
			return fmt.Errorf("%s: signing: %s", what, redact(err.Error(), secrets))
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("%s: reading the answer: %w", what, err)
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			e := decodeError(action, resp.StatusCode, data, secrets)
			if s, ok := ClockSkew(e.Code, resp.Header.Get("Date"), time.Now(), skew); ok {
				c.skew.Store(int64(s))
				return &corrected{e, fmt.Sprintf("signing again with the server's clock, %s from ours", s)}
			}
			if cache, ok := c.creds.(interface{ Invalidate() }); ok && expiredCodes[e.Code] && !refreshed {
				refreshed = true
				cache.Invalidate()
				return &corrected{e, "signing again with fresh credentials"}
			}
			return e
		}
		if err := xml.Unmarshal(data, out); err != nil {
			// the XML error quotes the answer (a name, an entity), which may echo a secret
			return fmt.Errorf("%s: decoding the answer (HTTP %d): %s", what, resp.StatusCode, redact(err.Error(), secrets))
		}
		return nil
	})
}

// secrets are what no error of c may show: the secret access key and the session token of the
// credentials given, and of those the provider holds now.
func (c *Client) secrets() []string {
	s := c.static
	if creds, err := c.creds.Retrieve(context.Background()); err == nil {
		s = append(s, creds.SecretAccessKey, creds.SessionToken)
	}
	return s
}

// xmlError is an error of an EC2 (Response>Errors>Error) or an STS (ErrorResponse>Error)
// error document.
type xmlError struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// decodeError turns a non-2xx answer into an *APIError.
func decodeError(action string, status int, body []byte, secrets []string) *APIError {
	var doc struct {
		XMLName   xml.Name
		EC2       []xmlError `xml:"Errors>Error"`
		STS       []xmlError `xml:"Error"`
		RequestID string     `xml:"RequestID"`
		RequestId string     `xml:"RequestId"`
	}
	e := &APIError{Action: action, StatusCode: status}
	if xml.Unmarshal(body, &doc) == nil {
		errs := doc.EC2
		if doc.XMLName.Local == "ErrorResponse" {
			errs = doc.STS
		}
		if (doc.XMLName.Local == "Response" || doc.XMLName.Local == "ErrorResponse") && len(errs) > 0 && errs[0].Code != "" {
			e.Code = errs[0].Code
			e.Message = redact(errs[0].Message, secrets)
			e.RequestID = doc.RequestID + doc.RequestId
			return e
		}
	}
	msg := redact(string(body), secrets)
	if len(msg) > 200 {
		msg = msg[:200]
	}
	e.Message = msg
	return e
}

func setIf(f url.Values, key, value string) {
	if value != "" {
		f.Set(key, value)
	}
}

// addList sets prefix1, prefix2, … to values.
func addList(f url.Values, prefix string, values []string) {
	for i, v := range values {
		f.Set(prefix+strconv.Itoa(i+1), v)
	}
}

// addTags sets prefixN.Key and prefixN.Value for the tags.
func addTags(f url.Values, prefix string, tags []Tag) {
	for i, t := range tags {
		p := prefix + strconv.Itoa(i+1) + "."
		f.Set(p+"Key", t.Key)
		f.Set(p+"Value", t.Value)
	}
}
