package scan

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// TrivyVersion is the trivy release the gate runs and whose formats it reads.
const TrivyVersion = "0.74.0"

// DefaultScannerImage is trivy's image under upstream's name; the gate runs trivy in it, as
// users run it.
const DefaultScannerImage = "aquasec/trivy:" + TrivyVersion

// DefaultIgnoreFile is the ignore file read from the repository when --ignore-file names none.
const DefaultIgnoreFile = ".trivyignore.yaml"

// DefaultFailOn is the threshold when --fail-on names none.
const DefaultFailOn = Critical

// ErrBadSettings is wrapped when the scan's settings cannot be used.
var ErrBadSettings = errors.New("bad scan settings")

// Settings are the gate's settings (with-scan), read once before any work.
type Settings struct {
	// DBRepository is the registry reference of trivy's database artifact (trivy --db-repository).
	DBRepository string
	// Threshold is the lowest severity that blocks (--fail-on).
	Threshold Severity
	// MaxDBAge is how old the database may be (--max-db-age).
	MaxDBAge time.Duration
	// IgnoreFile is the ignore file's path in the repository (--ignore-file).
	IgnoreFile string
	// Image is the scanner image (--scanner-image).
	Image string
}

// ParseSettings reads with-scan's flags; an empty flag takes its default. Every problem is
// reported at once.
func ParseSettings(dbRepository, failOn, maxDBAge, ignoreFile, image string) (Settings, error) {
	s := Settings{DBRepository: strings.TrimSpace(dbRepository), Threshold: DefaultFailOn, MaxDBAge: DefaultMaxDBAge,
		IgnoreFile: DefaultIgnoreFile, Image: DefaultScannerImage}
	var errs []error
	if s.DBRepository == "" {
		errs = append(errs, errors.New("--db-repository is empty: name the registry reference of trivy's database (e.g. registry.example.com/mirror/trivy-db:2), which the scan pulls instead of the internet"))
	}
	if failOn != "" {
		sev, err := ParseSeverity(failOn)
		if err != nil {
			errs = append(errs, err)
		}
		s.Threshold = sev
	}
	if maxDBAge != "" {
		d, err := time.ParseDuration(maxDBAge)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--max-db-age %q: %v: write a Go duration such as 168h", maxDBAge, err))
		case d <= 0:
			errs = append(errs, fmt.Errorf("--max-db-age %s is not a positive duration: use e.g. 168h", maxDBAge))
		}
		s.MaxDBAge = d
	}
	if ignoreFile != "" {
		s.IgnoreFile = ignoreFile
	}
	if image != "" {
		s.Image = image
	}
	if err := errors.Join(errs...); err != nil {
		return Settings{}, fmt.Errorf("%w (with-scan):\n%w", ErrBadSettings, err)
	}
	return s, nil
}

// offlineFlags keep trivy off the internet: no Java database, no look-ups of packages, no version
// check and no telemetry (either would call trivy's update API).
var offlineFlags = []string{"--skip-java-db-update", "--offline-scan", "--skip-version-check", "--disable-telemetry", "--no-progress"}

// DownloadDBArgs are trivy's arguments that pull the database from repository into cacheDir and
// nothing else; insecure lets trivy speak plain HTTP to the repository's registry.
func DownloadDBArgs(cacheDir, repository string, insecure bool) []string {
	args := append([]string{"trivy", "image", "--download-db-only", "--cache-dir", cacheDir, "--db-repository", repository}, offlineFlags...)
	if insecure {
		args = append(args, "--insecure")
	}
	return args
}

// ScanArgs are trivy's arguments that scan an image's file system, mounted as the directory
// root, with the database already in cacheDir (never updated), and print the JSON report. The
// ignore file is applied by Gate, not by trivy, so that every ignored finding is reported with
// its statement.
//
// trivy's rootfs mode reads the mounted file system as it is; its image mode read a tarball the
// engine first wrote of the whole image, whose layers trivy then decompressed (the reference
// app's django image, outside the engine: 5.1 s from the tarball, 1.0 s from the file system,
// the same 128 packages and the same findings).
func ScanArgs(cacheDir, root string) []string {
	return append([]string{"trivy", "rootfs", root, "--cache-dir", cacheDir, "--skip-db-update",
		"--scanners", "vuln", "--format", "json"}, offlineFlags...)
}

// DBMetadataFile is where trivy keeps the database's metadata.json under its cache directory.
const DBMetadataFile = "db/metadata.json"
