package testenv

import (
	"os"
	"path/filepath"
	"regexp"
)

// KeepLog writes content, the whole output of something a test ran, to
// $SHIPYARD_STATE/logs/tests/TEST-NAME.log and returns that path, so that a failure message can
// show a tail and name the file that has the rest (the test's temporary directory is deleted with
// it). It returns "" when the file cannot be written.
func KeepLog(t interface{ Name() string }, name, content string) string {
	dir := filepath.Join(StateDir(), "logs", "tests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ""
	}
	safe := regexp.MustCompile(`[^A-Za-z0-9._-]+`)
	path := filepath.Join(dir, safe.ReplaceAllString(t.Name(), "_")+"-"+safe.ReplaceAllString(name, "_")+".log")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return ""
	}
	return path
}
