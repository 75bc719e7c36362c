package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The engine's files are read as a set: every client database changed since the start and the log;
// a state directory without client databases is another engine's, named as such.
func TestReadEngineFiles(t *testing.T) {
	state := t.TempDir()
	t.Setenv("SHIPYARD_STATE", state)
	began := time.Now().Add(-time.Minute)

	if _, err := ReadEngineFiles(began, 2); !errors.Is(err, ErrNotOurEngine) {
		t.Fatalf("no client databases: got %v, want ErrNotOurEngine", err)
	}

	dbs := filepath.Join(state, "engine", "state", "worker", "clientdbs")
	if err := os.MkdirAll(dbs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(state, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dbs, "old.db")
	for path, body := range map[string]string{
		filepath.Join(dbs, "a.db"):     "spans",
		filepath.Join(dbs, "a.db-wal"): "pending",
		old:                            "before",
		filepath.Join(state, "logs", "engine.log"): "log",
	} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}

	read, err := ReadEngineFiles(began, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a.db": "spans", "a.db-wal": "pending", "engine.log": "log"}
	if len(read) != len(want) {
		t.Errorf("read %d files, want %d: %v", len(read), len(want), read)
	}
	for f, b := range read {
		if want[filepath.Base(f)] != string(b) {
			t.Errorf("%s: read %q, want %q", f, b, want[filepath.Base(f)])
		}
	}
}
