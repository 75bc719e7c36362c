package awsapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
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

	"shipyard/internal/faultproxy"
)

func TestRetryable(t *testing.T) {
	api := func(status int, code string) error {
		return fmt.Errorf("wrapped: %w", &APIError{Action: "RunInstances", Code: code, StatusCode: status})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"RequestLimitExceeded", api(503, "RequestLimitExceeded"), true},
		{"Throttling with 400", api(400, "Throttling"), true},
		{"ThrottlingException", api(400, "ThrottlingException"), true},
		{"EC2ThrottledException", api(400, "EC2ThrottledException"), true},
		{"TooManyRequestsException", api(429, "TooManyRequestsException"), true},
		{"SlowDown", api(503, "SlowDown"), true},
		{"STS cannot reach the identity provider", api(400, "IDPCommunicationError"), true},
		{"InternalError 500", api(500, "InternalError"), true},
		{"Unavailable 503", api(503, "Unavailable"), true},
		{"InternalError with 400 is no server failure", api(400, "InternalError"), false},
		{"no capacity comes with 500 and is not retried", api(500, "InsufficientInstanceCapacity"), false},
		{"not found", api(400, "InvalidInstanceID.NotFound"), false},
		{"unauthorized", api(403, "UnauthorizedOperation"), false},
		{"refused token", api(400, "InvalidIdentityToken"), false},
		{"AuthFailure as it is", api(401, "AuthFailure"), false},
		{"ExpiredToken as it is", api(400, "ExpiredToken"), false},
		{"no code, 502", api(502, ""), true},
		{"no code, 429", api(429, ""), true},
		{"no code, 504", api(504, ""), true},
		{"no code, 403", api(403, ""), false},
		{"no code, 501", api(501, ""), false},
		{"corrected clock skew", &corrected{&APIError{Code: "RequestTimeTooSkewed", StatusCode: 403}, "skew"}, true},
		{"corrected credentials", &corrected{&APIError{Code: "ExpiredToken", StatusCode: 400}, "fresh"}, true},
		{"connection refused", &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, true},
		{"connection reset", &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}, true},
		{"cancelled", &aws.RequestCanceledError{Err: context.Canceled}, false},
		{"plain error", errors.New("decoding the answer"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestClockSkew(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name    string
		code    string
		date    string
		current time.Duration
		want    time.Duration
		ok      bool
	}{
		{"server an hour ahead", "RequestTimeTooSkewed", date(time.Hour), 0, time.Hour, true},
		{"server ten minutes behind", "SignatureDoesNotMatch", date(-10 * time.Minute), 0, -10 * time.Minute, true},
		{"EC2's expired request", "RequestExpired", date(30 * time.Minute), 0, 30 * time.Minute, true},
		{"EC2's AuthFailure", "AuthFailure", date(6 * time.Minute), 0, 6 * time.Minute, true},
		{"within the threshold: a genuinely bad signature", "SignatureDoesNotMatch", date(3 * time.Minute), 0, 0, false},
		{"already corrected", "RequestTimeTooSkewed", date(time.Hour + time.Minute), time.Hour, time.Hour, false},
		{"clocks agree again: heal the offset", "AuthFailure", date(0), time.Hour, 0, true},
		{"another code", "UnauthorizedOperation", date(time.Hour), 0, 0, false},
		{"no Date header", "RequestTimeTooSkewed", "", 0, 0, false},
		{"a Date that is no time", "RequestTimeTooSkewed", "yesterday", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ClockSkew(tt.code, tt.date, now, tt.current)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ClockSkew = %s, %v; want %s, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestClockSkewSignsAgain: a server whose clock is an hour ahead refuses the first signature
// and says its time; the call signs again with that time and succeeds.
func TestClockSkewSignsAgain(t *testing.T) {
	var mu sync.Mutex
	var dates []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server := time.Now().Add(time.Hour)
		at, _ := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		mu.Lock()
		dates = append(dates, at)
		mu.Unlock()
		w.Header().Set("Date", server.UTC().Format(http.TimeFormat))
		if server.Sub(at).Abs() > 5*time.Minute {
			w.WriteHeader(400)
			io.WriteString(w, ec2Error("RequestExpired", "Request has expired."))
			return
		}
		io.WriteString(w, `<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>`)
	}))
	defer srv.Close()
	c, err := New(testRegion, srv.URL, testCreds, nil)
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithRetry(Retry{Attempts: 3, Sleep: noSleep})
	for range 2 {
		if _, err := c.DescribeInstances(context.Background(), nil, nil); err != nil {
			t.Fatalf("DescribeInstances against a server an hour ahead: %v", err)
		}
	}
	if len(dates) != 3 || time.Until(dates[1]) < 55*time.Minute || time.Until(dates[2]) < 55*time.Minute {
		t.Errorf("signing times %v: want a refused one, then every signature an hour ahead", dates)
	}
}

// TestThrottlingStorm: EC2 (a fault proxy in front of it) answers RequestLimitExceeded 20 times in
// a row; the call waits with jittered, growing, capped delays and succeeds.
func TestThrottlingStorm(t *testing.T) {
	f := newFakeEC2(t, testCreds, func(int, url.Values) (int, string) {
		return 200, `<StopInstancesResponse><instancesSet><item><instanceId>i-1</instanceId><currentState><name>stopping</name></currentState><previousState><name>running</name></previousState></item></instancesSet></StopInstancesResponse>`
	})
	target, _ := url.Parse(f.srv.URL)
	proxy := faultproxy.New(target, faultproxy.Answer("POST", "", 503, "text/xml", ec2Error("RequestLimitExceeded", "Request limit exceeded."), 1, 20))
	proxy.Start()
	defer proxy.Close()

	var waits []time.Duration
	r := DefaultRetry
	r.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	c, err := New(testRegion, proxy.URL(), testCreds, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.WithRetry(r).StopInstances(context.Background(), "i-1")
	if err != nil || len(got) != 1 || got[0].Current != "stopping" {
		t.Fatalf("StopInstances through 20 throttled answers = %v, %v; want it delayed, not failed", got, err)
	}
	if proxy.Injected() != 20 || len(f.requests()) != 1 || len(waits) != 20 {
		t.Fatalf("%d throttled answers, %d reached EC2, %d waits; want 20, 1, 20", proxy.Injected(), len(f.requests()), len(waits))
	}
	var total time.Duration
	distinct := map[time.Duration]bool{}
	for _, d := range waits {
		if d < 0 || d > DefaultRetry.MaxBackoff {
			t.Errorf("wait %s outside [0, %s]", d, DefaultRetry.MaxBackoff)
		}
		total += d
		distinct[d] = true
	}
	if len(distinct) < 15 {
		t.Errorf("waits %v: want them jittered", waits)
	}
	t.Logf("20 throttled answers waited %s in all", total)
}

// fakeIAM plays STS and EC2 for credentials that expire: STS hands out numbered session
// credentials, EC2 checks each request's signature with the secret of its key and refuses a key
// after it expired (ExpiredToken) or after the test revoked it.
type fakeIAM struct {
	t        *testing.T
	lifetime time.Duration // how long EC2 takes a key issued now

	mu      sync.Mutex
	issued  int
	secrets map[string]string
	expires map[string]time.Time
	used    []string // the key of every EC2 request EC2 took
	refused int
}

func (f *fakeIAM) sts(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	if r.Form.Get("Action") != "AssumeRoleWithWebIdentity" || r.Form.Get("WebIdentityToken") != testToken {
		w.WriteHeader(400)
		io.WriteString(w, stsError("InvalidIdentityToken", "bad request"))
		return
	}
	f.mu.Lock()
	f.issued++
	key, secret := fmt.Sprintf("ASIA%04d", f.issued), fmt.Sprintf("secret-%d", f.issued)
	// EC2 refuses the key after lifetime; STS says the session lasts RefreshWindow longer, so the
	// client's cache (which renews RefreshWindow early) holds it exactly as long as EC2 takes it
	f.secrets[key], f.expires[key] = secret, time.Now().Add(f.lifetime)
	exp := f.expires[key].Add(RefreshWindow)
	f.mu.Unlock()
	fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials><SessionToken>session-%s</SessionToken><SecretAccessKey>%s</SecretAccessKey><Expiration>%s</Expiration><AccessKeyId>%s</AccessKeyId></Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`, key, secret, exp.UTC().Format(time.RFC3339Nano), key)
}

func (f *fakeIAM) revoke() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.expires {
		f.expires[k] = time.Now()
	}
}

func (f *fakeIAM) ec2(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m := regexp.MustCompile(`Credential=([^/]+)/`).FindStringSubmatch(r.Header.Get("Authorization"))
	f.mu.Lock()
	defer f.mu.Unlock()
	if m == nil || f.secrets[m[1]] == "" || r.Header.Get("X-Amz-Security-Token") != "session-"+m[1] {
		f.t.Errorf("EC2 request signed with an unknown key: %q", r.Header.Get("Authorization"))
		w.WriteHeader(401)
		io.WriteString(w, ec2Error("AuthFailure", "AWS was not able to validate the provided access credentials"))
		return
	}
	key := m[1]
	at, _ := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	re, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), strings.NewReader(string(body)))
	re.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	re.Header.Set("X-Amz-Date", r.Header.Get("X-Amz-Date"))
	sum := sha256.Sum256(body)
	_ = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: f.secrets[key], SessionToken: "session-" + key},
		re, hex.EncodeToString(sum[:]), "ec2", testRegion, at)
	if re.Header.Get("Authorization") != r.Header.Get("Authorization") {
		f.t.Errorf("the signature of a request with key %s does not verify", key)
	}
	if !time.Now().Before(f.expires[key]) {
		f.refused++
		w.WriteHeader(400)
		io.WriteString(w, ec2Error("ExpiredToken", "The security token included in the request is expired"))
		return
	}
	f.used = append(f.used, key)
	form, _ := url.ParseQuery(string(body))
	switch action := form.Get("Action"); action {
	case "RunInstances":
		io.WriteString(w, `<RunInstancesResponse><instancesSet>`+fmt.Sprintf(instanceXML, "i-2", "pending")+`</instancesSet></RunInstancesResponse>`)
	case "DescribeInstances":
		io.WriteString(w, `<DescribeInstancesResponse><reservationSet><item><instancesSet>`+fmt.Sprintf(instanceXML, "i-1", "running")+`</instancesSet></item></reservationSet></DescribeInstancesResponse>`)
	default:
		io.WriteString(w, `<`+action+`Response><instancesSet><item><instanceId>i-1</instanceId><currentState><name>stopping</name></currentState></item></instancesSet></`+action+`Response>`)
	}
}

// TestCredentialsExpireMidRun: the role's credentials expire in the middle of a run, both as
// their expiration says (the client renews them before it) and earlier than it says (EC2 answers
// ExpiredToken: the client drops them and assumes the role again). Teardown, the loss watch's
// describe loop and a replacement launch all go on working, each with fresh credentials.
func TestCredentialsExpireMidRun(t *testing.T) {
	f := &fakeIAM{t: t, lifetime: 300 * time.Millisecond, secrets: map[string]string{}, expires: map[string]time.Time{}}
	sts := httptest.NewServer(http.HandlerFunc(f.sts))
	defer sts.Close()
	ec2 := httptest.NewServer(http.HandlerFunc(f.ec2))
	defer ec2.Close()
	p, err := WebIdentity{RoleARN: "arn:aws:iam::123456789012:role/arm-builder", SessionName: "job-42", Token: TokenString(testToken)}.
		Provider(STSConfig{Region: testRegion, Endpoint: sts.URL, Retry: fast})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewWithProvider(testRegion, ec2.URL, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithRetry(fast)
	ctx := context.Background()
	expire := func() { time.Sleep(f.lifetime + 50*time.Millisecond) }

	if _, err := c.DescribeInstances(ctx, []string{"i-1"}, nil); err != nil {
		t.Fatalf("setup: %v", err)
	}
	// the session ends as its expiration says: teardown renews before it signs
	expire()
	if _, err := c.StopInstances(ctx, "i-1"); err != nil {
		t.Fatalf("teardown (StopInstances) after the credentials expired: %v", err)
	}
	// the loss watch: a describe loop across several expiries, some announced, some not
	for i := range 4 {
		if i%2 == 0 {
			expire()
		} else {
			f.revoke()
		}
		if _, err := c.DescribeInstances(ctx, []string{"i-1"}, nil); err != nil {
			t.Fatalf("loss watch, round %d, after the credentials expired: %v", i, err)
		}
	}
	// a replacement launch with revoked credentials, then teardown of both
	f.revoke()
	if _, err := c.RunInstances(ctx, RunInput{LaunchTemplateID: "lt-1"}); err != nil {
		t.Fatalf("replacement launch (RunInstances) after the credentials expired: %v", err)
	}
	expire()
	if _, err := c.TerminateInstances(ctx, "i-1", "i-2"); err != nil {
		t.Fatalf("teardown (TerminateInstances) after the credentials expired: %v", err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for _, k := range f.used {
		seen[k] = true
	}
	if f.issued != 8 || len(seen) != 8 || f.refused != 3 {
		t.Errorf("STS issued %d credentials, EC2 took %d keys (%v) and refused %d requests; want 8, 8 and 3 (one per revocation)", f.issued, len(seen), f.used, f.refused)
	}
}
