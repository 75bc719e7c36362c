package testenv

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"shipyard/internal/awsapi"
)

// The consoles endpoint answers GetConsoleOutput of an instance given a console with that console
// through the product's own client (EC2's XML, base64, the newest 64 KB), and hands every other
// request to moto unchanged: other actions, and the console of any other instance.
func TestConsoles(t *testing.T) {
	var mu sync.Mutex
	var toMoto []string // the bodies moto received
	moto := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		toMoto = append(toMoto, string(b))
		mu.Unlock()
		f, _ := url.ParseQuery(string(b))
		w.Header().Set("Content-Type", "text/xml")
		switch f.Get("Action") {
		case "GetConsoleOutput":
			_, _ = io.WriteString(w, `<GetConsoleOutputResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId><instanceId>`+f.Get("InstanceId")+`</instanceId><timestamp>2026-12-05T10:00:00.000Z</timestamp><output>bW90bydzIGNhbm5lZCBjb25zb2xl</output></GetConsoleOutputResponse>`)
		default:
			_, _ = io.WriteString(w, `<CreateTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>2</requestId><return>true</return></CreateTagsResponse>`)
		}
	}))
	defer moto.Close()
	c := ServeConsoles(t, moto.URL)
	log := filepath.Join(t.TempDir(), "console.log")
	c.Console("i-0123456789abcdef0", ConsoleFile(log))
	api, err := awsapi.New("eu-north-1", c.URL, awsapi.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing-secret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	got, err := api.GetConsoleOutput(ctx, "i-0123456789abcdef0")
	if err != nil || got.Output != "" || got.InstanceID != "i-0123456789abcdef0" || got.Timestamp.IsZero() {
		t.Fatalf("a console not written yet: %+v, %v; want an empty output of the instance, with a time", got, err)
	}
	text := strings.Repeat("[    1.000000] kernel line\r\n", 3000) + "-----BEGIN SSH HOST KEY KEYS-----\r\nssh-ed25519 AAAA root@builder\r\n"
	if err := os.WriteFile(log, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = api.GetConsoleOutput(ctx, "i-0123456789abcdef0")
	if err != nil || got.Output != text[len(text)-consoleLimit:] {
		t.Fatalf("the console: %d bytes, %v; want its newest %d bytes", len(got.Output), err, consoleLimit)
	}
	if n := c.Reads("i-0123456789abcdef0"); n != 2 {
		t.Errorf("%d reads of the console, want 2", n)
	}
	got, err = api.GetConsoleOutput(ctx, "i-0fedcba9876543210")
	if err != nil || got.Output != "moto's canned console" {
		t.Errorf("another instance's console: %q, %v; want moto's", got.Output, err)
	}
	if err := api.CreateTags(ctx, []string{"i-0123456789abcdef0"}, []awsapi.Tag{{Key: "a", Value: "b"}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(toMoto) != 2 || !strings.Contains(toMoto[0], "InstanceId=i-0fedcba9876543210") || !strings.Contains(toMoto[1], "Action=CreateTags") ||
		!strings.Contains(toMoto[1], "Tag.1.Key=a") {
		t.Errorf("moto received %q, want the other instance's GetConsoleOutput and CreateTags as sent", toMoto)
	}
}
