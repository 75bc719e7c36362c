package testenv

// Consoles: moto answers GetConsoleOutput with one canned text for every instance, so ServeConsoles
// stands in front of it as the EC2 endpoint and answers that one action with what the machine
// behind the instance really printed (a test host's first boot, a VM's serial console).

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"
)

// consoleLimit is how much of a console GetConsoleOutput returns: the newest 64 KB.
const consoleLimit = 64 << 10

// Consoles is an EC2 endpoint in front of moto: GetConsoleOutput of an instance given a console
// (Console) is answered as EC2 answers it (its documented XML, the newest 64 KB base64-encoded);
// every other request, and GetConsoleOutput of any other instance, goes to moto unchanged.
type Consoles struct {
	// URL is the endpoint to give the product in place of moto's.
	URL string

	mu       sync.Mutex
	consoles map[string]func() (string, error)
	reads    map[string]int
}

// ServeConsoles starts the endpoint in front of moto at motoURL, on a free port of the same
// address, until the test ends.
func ServeConsoles(t *testing.T, motoURL string) *Consoles {
	t.Helper()
	moto, err := url.Parse(motoURL)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(moto.Hostname(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	c := &Consoles{URL: "http://" + l.Addr().String(), consoles: map[string]func() (string, error){}, reads: map[string]int{}}
	srv := &http.Server{Handler: c.handler(httputil.NewSingleHostReverseProxy(moto), t.Logf), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return c
}

// Console makes read the console of instance id: what GetConsoleOutput returns from now on.
func (c *Consoles) Console(id string, read func() (string, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.consoles[id] = read
}

// ConsoleFile is a console read from a file as it grows (a test host's cloud-init-output.log, a
// VM's console.log); a file not there yet is an empty console (the machine is booting).
func ConsoleFile(path string) func() (string, error) {
	return func() (string, error) {
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return "", nil
		}
		return string(b), err
	}
}

// Reads is how often GetConsoleOutput of instance id was answered from its console.
func (c *Consoles) Reads(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads[id]
}

func (c *Consoles) handler(moto http.Handler, logf func(string, ...any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		id := form.Get("InstanceId")
		c.mu.Lock()
		read, ok := c.consoles[id]
		if ok && form.Get("Action") == "GetConsoleOutput" {
			c.reads[id]++
		}
		c.mu.Unlock()
		if r.Method != http.MethodPost || form.Get("Action") != "GetConsoleOutput" || !ok {
			moto.ServeHTTP(w, r)
			return
		}
		out, err := read()
		if err != nil {
			logf("consoles: reading the console of %s: %v", id, err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if len(out) > consoleLimit {
			out = out[len(out)-consoleLimit:]
		}
		var escaped bytes.Buffer
		_ = xml.EscapeText(&escaped, []byte(id))
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<GetConsoleOutputResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>%d-console</requestId>
    <instanceId>%s</instanceId>
    <timestamp>%s</timestamp>
    <output>%s</output>
</GetConsoleOutputResponse>`, time.Now().UnixNano(), escaped.String(), time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), base64.StdEncoding.EncodeToString([]byte(out)))
	})
}
