package scan

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSettings(t *testing.T) {
	s, err := ParseSettings("reg.test/mirror/trivy-db:2", "", "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{DBRepository: "reg.test/mirror/trivy-db:2", Threshold: Critical, MaxDBAge: 7 * 24 * time.Hour,
		IgnoreFile: ".trivyignore.yaml", Image: "aquasec/trivy:0.74.0"}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	s, err = ParseSettings("r/db:2", "High", "48h", "sec/ignore.yaml", "mirror.test/trivy:0.74.0")
	if err != nil {
		t.Fatal(err)
	}
	want = Settings{DBRepository: "r/db:2", Threshold: High, MaxDBAge: 48 * time.Hour, IgnoreFile: "sec/ignore.yaml", Image: "mirror.test/trivy:0.74.0"}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("given (-want +got):\n%s", diff)
	}
	// every problem at once
	_, err = ParseSettings(" ", "severe", "-1h", "", "")
	wantError(t, err, ErrBadSettings, "--db-repository is empty", `unknown severity "severe"`, "--max-db-age -1h is not a positive duration")
	_, err = ParseSettings("r/db:2", "", "7d", "", "")
	wantError(t, err, ErrBadSettings, `--max-db-age "7d"`, "168h")
}

// The gate's trivy runs never reach past the registries they are given: the offline flags are on
// both, the database is pulled only by the first and never updated by the second.
func TestTrivyArgs(t *testing.T) {
	dl := DownloadDBArgs("/c", "reg.test/db:2", false)
	scan := ScanArgs("/c", "/image")
	for _, args := range [][]string{dl, scan} {
		for _, f := range []string{"--skip-java-db-update", "--offline-scan", "--skip-version-check", "--disable-telemetry"} {
			if !slices.Contains(args, f) {
				t.Errorf("%q lacks %s", args, f)
			}
		}
	}
	if !slices.Contains(dl, "--download-db-only") || slices.Contains(dl, "--insecure") {
		t.Errorf("download args %q", dl)
	}
	if !slices.Contains(DownloadDBArgs("/c", "r:5000/db:2", true), "--insecure") {
		t.Error("an insecure repository is not passed --insecure")
	}
	if !slices.Contains(scan, "--skip-db-update") || slices.Contains(scan, "--db-repository") || slices.Contains(scan, "--ignorefile") {
		t.Errorf("scan args %q: want the cached database only, and the ignore file left to Gate", scan)
	}
	if !slices.Equal(scan[:3], []string{"trivy", "rootfs", "/image"}) {
		t.Errorf("scan args %q: want the image's file system scanned where it is mounted", scan)
	}
}
