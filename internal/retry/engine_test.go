package retry

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromEngineMessage(t *testing.T) {
	// what is retried and how the message is classified
	type want struct {
		Transient bool
		Status    int  // the *StatusError code, 0 for none
		Permanent bool // wrapped with Permanent
		Cause     string
	}
	tests := []struct {
		msg  string
		want want
	}{
		// containerd's pusher, as the engine reports a registry failing
		{`failed to export: failed to push 127.0.0.1:5002/faults/traefik:t1-amd64: unexpected status from PUT request to http://127.0.0.1:5002/v2/faults/traefik/manifests/t1-amd64: 503 Service Unavailable`,
			want{Transient: true, Status: 503}},
		{`unexpected status from PUT request to http://r/v2/x/manifests/1: 500 Internal Server Error`, want{Transient: true, Status: 500}},
		{`unexpected status from HEAD request to http://r/v2/x/blobs/sha256:500abc: 429 Too Many Requests`, want{Transient: true, Status: 429}},
		{`failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://auth/token: 401 Unauthorized`,
			want{Status: 401}},
		{`unexpected status from PUT request to http://r/v2/x/manifests/1: 403 Forbidden`, want{Status: 403}},
		{`pushing: 404  Not Found`, want{Status: 404}},
		{`registry answered with status 502`, want{Transient: true, Status: 502}},
		{`status code: 429`, want{Transient: true, Status: 429}},
		{`HTTP 504 while pushing`, want{Transient: true, Status: 504}},
		{`HTTP/1.1 400 Bad Request`, want{Status: 400}},
		{`501 Not Implemented`, want{Status: 501}},
		// several statuses: the last one, nearest the cause
		{`pushing after 503 Service Unavailable: 401 Unauthorized`, want{Status: 401}},
		// numbers that are no status
		{`failed to push 127.0.0.1:5000/app:500-amd64: connection reset by peer`, want{Transient: true, Cause: "connection reset by peer"}},
		{`image sha256:5031a0 has 404 layers: denied`, want{Permanent: true}},
		// refusals without status
		{`toomanyrequests: You have reached your pull rate limit`, want{Transient: true, Status: 429}},
		{`unauthorized: authentication required`, want{Permanent: true}},
		{`denied: requested access to the resource is denied`, want{Permanent: true}},
		{`server message: insufficient_scope: authorization failed`, want{Permanent: true}},
		{`Forbidden`, want{Permanent: true}},
		{`failed to resolve source metadata: repository not found`, want{Permanent: true}},
		{`manifest unknown: manifest unknown`, want{Permanent: true}},
		{`invalid reference format: repository name must be lowercase`, want{Permanent: true}},
		// broken connections
		{`write tcp 10.87.0.2:40210->10.87.0.1:5002: write: connection reset by peer`, want{Transient: true, Cause: "connection reset by peer"}},
		{`dial tcp 127.0.0.1:5002: connect: connection refused`, want{Transient: true, Cause: "connection refused"}},
		{`write: broken pipe`, want{Transient: true, Cause: "broken pipe"}},
		{`Put "http://127.0.0.1:5002/v2/x/blobs/uploads/1": EOF`, want{Transient: true, Cause: "unexpected EOF"}},
		{`reading response: unexpected EOF`, want{Transient: true, Cause: "unexpected EOF"}},
		{`dial tcp 10.0.0.1:443: i/o timeout`, want{Transient: true, Cause: "i/o timeout"}},
		{`net/http: TLS handshake timeout`, want{Transient: true, Cause: "i/o timeout"}},
		{`context deadline exceeded`, want{Transient: true, Cause: "i/o timeout"}},
		// anything else is not retried
		{`process "/bin/sh -c make" did not complete successfully: exit code: 2`, want{}},
		{`Geoffrey's EOFfile`, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			err := FromEngineMessage(tt.msg)
			if err == nil || err.Error() != tt.msg {
				t.Fatalf("FromEngineMessage = %v, want an error with the message unchanged", err)
			}
			var got want
			got.Transient = Transient(err)
			var s *StatusError
			if errors.As(err, &s) {
				got.Status = s.Code
			}
			var p *permanentError
			got.Permanent = errors.As(err, &p)
			if e := errors.Unwrap(err); e != nil && s == nil && !got.Permanent {
				got.Cause = e.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if err := FromEngineMessage(""); err != nil {
		t.Errorf(`FromEngineMessage("") = %v, want nil`, err)
	}
}
