package awsapi

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/retry"
)

// consoleAnswer is a GetConsoleOutput answer in the shape of the EC2 API reference; output is
// put in as it is (already encoded or not).
func consoleAnswer(id, timestamp, output string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<GetConsoleOutputResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
  <instanceId>` + id + `</instanceId>
  <timestamp>` + timestamp + `</timestamp>
  <output>` + output + `</output>
</GetConsoleOutputResponse>`
}

func TestGetConsoleOutput(t *testing.T) {
	const text = "[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x413fd0c1]\r\n" +
		"<14>Dec  5 10:00:01 ec2: -----BEGIN SSH HOST KEY KEYS-----\r\n"
	enc := base64.StdEncoding.EncodeToString([]byte(text))
	wrapped := enc[:20] + "\n" + enc[20:40] + "\r\n  " + enc[40:]
	at := time.Date(2026, 12, 5, 10, 0, 2, 0, time.UTC)
	tests := []struct {
		name    string
		answer  string
		want    ConsoleOutput
		wantErr string
	}{
		{"output", consoleAnswer("i-1", "2026-12-05T10:00:02.000Z", enc),
			ConsoleOutput{InstanceID: "i-1", Timestamp: at, Output: text}, ""},
		{"output wrapped over lines", consoleAnswer("i-1", "2026-12-05T10:00:02Z", wrapped),
			ConsoleOutput{InstanceID: "i-1", Timestamp: at, Output: text}, ""},
		{"booting: empty output", consoleAnswer("i-1", "2026-12-05T10:00:02.000Z", ""),
			ConsoleOutput{InstanceID: "i-1", Timestamp: at}, ""},
		{"booting: neither output nor timestamp",
			`<GetConsoleOutputResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId><instanceId>i-1</instanceId></GetConsoleOutputResponse>`,
			ConsoleOutput{InstanceID: "i-1"}, ""},
		{"output is no base64", consoleAnswer("i-1", "2026-12-05T10:00:02.000Z", "Linux version 6.1"),
			ConsoleOutput{}, "EC2 GetConsoleOutput of i-1: the output is not base64"},
		{"timestamp is no time", consoleAnswer("i-1", "yesterday", enc),
			ConsoleOutput{}, `EC2 GetConsoleOutput of i-1: the timestamp "yesterday" is no ISO 8601 time`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEC2(t, testCreds, func(int, url.Values) (int, string) { return 200, tt.answer })
			got, err := f.client(t).GetConsoleOutput(context.Background(), "i-1")
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one starting %q", err, tt.wantErr)
				}
				if n := len(f.requests()); n != 1 {
					t.Errorf("%d requests: an answer that cannot be decoded is not asked again", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetConsoleOutputErrors(t *testing.T) {
	t.Run("unknown instance is permanent", func(t *testing.T) {
		f := newFakeEC2(t, testCreds, func(int, url.Values) (int, string) {
			return 400, ec2Error("InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist")
		})
		_, err := f.client(t).GetConsoleOutput(context.Background(), "i-1")
		if CodeOf(err) != "InvalidInstanceID.NotFound" || retry.Transient(err) || len(f.requests()) != 1 {
			t.Errorf("error %v after %d requests, want InvalidInstanceID.NotFound at once", err, len(f.requests()))
		}
		if want := "EC2 GetConsoleOutput: InvalidInstanceID.NotFound"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %v, want it to start %q", err, want)
		}
	})
	t.Run("throttling is retried", func(t *testing.T) {
		enc := base64.StdEncoding.EncodeToString([]byte("hello\n"))
		f := newFakeEC2(t, testCreds, func(n int, _ url.Values) (int, string) {
			if n == 0 {
				return 503, ec2Error("RequestLimitExceeded", "Request limit exceeded.")
			}
			return 200, consoleAnswer("i-1", "2026-12-05T10:00:02.000Z", enc)
		})
		got, err := f.client(t).GetConsoleOutput(context.Background(), "i-1")
		if err != nil || got.Output != "hello\n" || len(f.requests()) != 2 {
			t.Errorf("GetConsoleOutput = %+v, %v after %d requests; want the output on the second", got, err, len(f.requests()))
		}
	})
}
