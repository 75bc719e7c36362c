package testenv

// The engine's call records, read back for secrets: what the dagger CLI exports over OTLP (every
// call the engine ran for the session, as a span whose attribute dagger.io/dag.call is the call
// with its arguments, base64-encoded protobuf, and the logs) and what the engine of hack/engine
// keeps on its disk (the same spans and logs in its client databases, its log).

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Telemetry is an OTLP/HTTP receiver for the dagger CLI: a CLI run with its Env exports to it
// the spans and logs of everything the engine ran for the session, the module's own calls among
// them.
type Telemetry struct {
	url    string
	mu     sync.Mutex
	bodies [][]byte
}

// StartTelemetry serves an OTLP/HTTP receiver on the loopback until the test ends.
func StartTelemetry(t *testing.T) *Telemetry {
	t.Helper()
	tel := &Telemetry{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		tel.mu.Lock()
		tel.bodies = append(tel.bodies, b)
		tel.mu.Unlock()
		// an empty Export…ServiceResponse: everything accepted
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	tel.url = srv.URL
	return tel
}

// Env are the variables that make a dagger CLI export its traces and logs to tel (the CLI reads
// them as the OpenTelemetry SDK does; metrics are not asked for), with queues large enough that
// the SDK's batch processors drop nothing of a long run (their default holds 2048 records).
func (tel *Telemetry) Env() []string {
	return []string{
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=" + tel.url + "/v1/traces",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=" + tel.url + "/v1/logs",
		"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/protobuf",
		"OTEL_BSP_MAX_QUEUE_SIZE=1000000",
		"OTEL_BLRP_MAX_QUEUE_SIZE=1000000",
	}
}

// Take returns what tel received since the last Take, the request bodies one after another (a
// CLI run has sent everything once it exits: it flushes its exporters before).
func (tel *Telemetry) Take() []byte {
	tel.mu.Lock()
	defer tel.mu.Unlock()
	b := bytes.Join(tel.bodies, []byte("\n"))
	tel.bodies = nil
	return b
}

// base64Run is a run of the standard base64 alphabet long enough to hold something.
var base64Run = regexp.MustCompile(`[A-Za-z0-9+/]{16,}`)

// Decoded is what the base64 in b decodes to, and what the base64 in that decodes to (two levels):
// a call's arguments sit in a span's dagger.io/dag.call as base64 of its protobuf. A run is
// decoded from each of its first four characters, since bytes of the record around it (a protobuf
// length, a JSON quote) may join it on the left; the decodings are separated by newlines.
func Decoded(b []byte) []byte {
	var out bytes.Buffer
	decodeRuns(&out, b, 2)
	return out.Bytes()
}

func decodeRuns(out *bytes.Buffer, b []byte, depth int) {
	if depth == 0 {
		return
	}
	for _, run := range base64Run.FindAll(b, -1) {
		for k := 0; k < 4 && len(run)-k >= 16; k++ {
			s := run[k:]
			if len(s)%4 == 1 {
				s = s[:len(s)-1]
			}
			dec := make([]byte, base64.RawStdEncoding.DecodedLen(len(s)))
			n, err := base64.RawStdEncoding.Decode(dec, s)
			if err != nil {
				continue
			}
			out.Write(dec[:n])
			out.WriteByte('\n')
			decodeRuns(out, dec[:n], depth-1)
		}
	}
}

// ErrNotOurEngine is EngineFiles' answer when the engine that ran the calls is not hack/engine's.
var ErrNotOurEngine = errors.New("the engine that ran the calls is not hack/engine's")

// EngineFiles are the files in which the engine of hack/engine ($SHIPYARD_STATE, default
// ~/.cache/shipyard) keeps what it ran: its client databases (the spans and logs of each client,
// SQLite) changed since since, and its log. It returns an error when that engine keeps no client
// databases (the engine on PATH is another one) or none changed since since.
func EngineFiles(since time.Time) ([]string, error) {
	state := StateDir()
	dir := filepath.Join(state, "engine", "state", "worker", "clientdbs")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: the engine's client databases: %w", ErrNotOurEngine, err)
	}
	var files []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.ModTime().Before(since) {
			continue
		}
		files = append(files, filepath.Join(dir, e.Name()))
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no client database in %s changed since %s", ErrNotOurEngine, dir, since.Format(time.RFC3339))
	}
	return append(files, filepath.Join(state, "logs", "engine.log")), nil
}

// ReadEngineFiles reads every file of EngineFiles(since) as one consistent set. SQLite removes a
// client database's -wal and -shm files when the engine closes it, after checkpointing the WAL into
// the database itself; a file that vanishes between the listing and the read therefore means the
// database changed under the reader, and the whole set is listed and read again (up to attempts
// times), so that what the WAL held is read from the database it was merged into.
func ReadEngineFiles(since time.Time, attempts int) (map[string][]byte, error) {
	var vanished []string
	for try := 0; try < attempts; try++ {
		if try > 0 {
			time.Sleep(time.Second)
		}
		files, err := EngineFiles(since)
		if err != nil {
			return nil, err
		}
		read := make(map[string][]byte, len(files))
		vanished = vanished[:0]
		for _, f := range files {
			b, err := os.ReadFile(f)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				vanished = append(vanished, f)
			case err != nil:
				return nil, fmt.Errorf("reading the engine's %s: %w", f, err)
			default:
				read[f] = b
			}
		}
		if len(vanished) == 0 {
			return read, nil
		}
	}
	return nil, fmt.Errorf("the engine's files kept changing while they were read (%d attempts); the last to vanish: %v", attempts, vanished)
}
