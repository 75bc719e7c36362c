package awsapi

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestSignMatchesSDK signs the same request with sign and with the SDK's signer and compares
// the Authorization headers.
func TestSignMatchesSDK(t *testing.T) {
	at := time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))
	body := []byte("Action=DescribeInstances&InstanceId.1=i-0123456789abcdef0&Version=2016-11-15")
	tests := []struct {
		name  string
		url   string
		creds Credentials
		extra map[string]string
		body  []byte
	}{
		{"long-lived credentials", "https://ec2.eu-north-1.amazonaws.com/", Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, nil, body},
		{"session token", "https://ec2.eu-north-1.amazonaws.com/", Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "FwoGZXIvYXdzEJr//////////wEaDO+token=="}, nil, body},
		{"moto endpoint with port", "http://127.0.0.1:5000/", Credentials{AccessKeyID: "testing", SecretAccessKey: "testing-secret"}, nil, body},
		{"extra headers, spaces, user agent", "http://127.0.0.1:5000/", Credentials{AccessKeyID: "testing", SecretAccessKey: "s"},
			map[string]string{"X-Custom": "  a   b  ", "User-Agent": "shipyard/1", "Accept": "text/xml"}, body},
		{"empty body", "http://127.0.0.1:5000/", Credentials{AccessKeyID: "testing", SecretAccessKey: "s"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mk := func() *http.Request {
				req, err := http.NewRequest(http.MethodPost, tt.url, bytes.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
				for k, v := range tt.extra {
					req.Header.Set(k, v)
				}
				return req
			}
			mine := mk()
			sign(mine, tt.body, tt.creds, "eu-north-1", "ec2", at)

			sdk := mk()
			// the SDK signs the headers on the request: give it the same ones
			sdk.Header.Set("X-Amz-Date", mine.Header.Get("X-Amz-Date"))
			if tt.creds.SessionToken != "" {
				sdk.Header.Set("X-Amz-Security-Token", tt.creds.SessionToken)
			}
			err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{
				AccessKeyID: tt.creds.AccessKeyID, SecretAccessKey: tt.creds.SecretAccessKey, SessionToken: tt.creds.SessionToken,
			}, sdk, hexSHA256(tt.body), "ec2", "eu-north-1", at)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := mine.Header.Get("Authorization"), sdk.Header.Get("Authorization"); got != want || got == "" {
				t.Errorf("Authorization\n got %s\nwant %s", got, want)
			}
			if got, want := mine.Header.Get("X-Amz-Date"), "20260314T140926Z"; got != want {
				t.Errorf("X-Amz-Date = %q, want %q (UTC)", got, want)
			}
			if got := mine.Header.Get("X-Amz-Security-Token"); got != tt.creds.SessionToken {
				t.Errorf("X-Amz-Security-Token = %q, want %q", got, tt.creds.SessionToken)
			}
		})
	}
}
