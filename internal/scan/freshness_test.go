package scan

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseDBMetadata(t *testing.T) {
	// metadata.json as trivy-db writes it (pkg/metadata.Metadata, encoding/json defaults)
	in := `{"Version":2,"NextUpdate":"2026-11-27T06:00:00Z","UpdatedAt":"2026-11-26T06:12:34.5Z","DownloadedAt":"2026-11-26T08:00:00.123Z"}`
	want := DBMetadata{
		Version:      2,
		NextUpdate:   time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC),
		UpdatedAt:    time.Date(2026, 11, 26, 6, 12, 34, 500000000, time.UTC),
		DownloadedAt: time.Date(2026, 11, 26, 8, 0, 0, 123000000, time.UTC),
	}
	got, err := ParseDBMetadata([]byte(in))
	if err != nil {
		t.Fatalf("ParseDBMetadata: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseDBMetadata (-want +got):\n%s", diff)
	}
	if _, err := ParseDBMetadata([]byte(`{"Version":"two"}`)); !errors.Is(err, ErrBadDB) {
		t.Errorf("ParseDBMetadata of a bad file: %v, want ErrBadDB", err)
	}
}

func TestCheckFreshness(t *testing.T) {
	built := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	meta := DBMetadata{Version: 2, UpdatedAt: built}
	const refresh = "push a fresh database to the repository given with --db-repository, or raise the policy with --max-db-age"
	tests := []struct {
		name     string
		meta     DBMetadata
		now      time.Time
		maxAge   time.Duration
		sentinel error  // nil: fresh
		want     string // the whole message
	}{
		{"a day old", meta, built.Add(24 * time.Hour), DefaultMaxDBAge, nil, ""},
		{"exactly the policy", meta, built.Add(7 * 24 * time.Hour), DefaultMaxDBAge, nil, ""},
		{"nine days", meta, built.Add(9 * 24 * time.Hour), DefaultMaxDBAge, ErrStaleDB,
			"trivy database too old: 9 days old, built 2026-11-26; the policy allows 7 days: " + refresh},
		{"just past the policy", meta, built.Add(7*24*time.Hour + time.Minute), DefaultMaxDBAge, ErrStaleDB,
			"trivy database too old: 7 days 1 hour old, built 2026-11-26; the policy allows 7 days: " + refresh},
		{"hours", meta, built.Add(25 * time.Hour), 12 * time.Hour, ErrStaleDB,
			"trivy database too old: 1 day 1 hour old, built 2026-11-26; the policy allows 12 hours: " + refresh},
		{"raised policy", meta, built.Add(9 * 24 * time.Hour), 10 * 24 * time.Hour, nil, ""},
		{"built date in UTC", DBMetadata{Version: 2, UpdatedAt: time.Date(2026, 11, 26, 23, 0, 0, 0, time.FixedZone("UTC-2", -2*3600))},
			time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC), DefaultMaxDBAge, ErrStaleDB,
			"trivy database too old: 12 days 23 hours old, built 2026-11-27; the policy allows 7 days: " + refresh},
		{"other schema", DBMetadata{Version: 1, UpdatedAt: built}, built, DefaultMaxDBAge, ErrBadDB,
			"unusable trivy database: schema version 1, trivy v0.74.0 reads 2: push a database built for it to the repository given with --db-repository"},
		{"no build time", DBMetadata{Version: 2}, built, DefaultMaxDBAge, ErrBadDB,
			"unusable trivy database: metadata.json has no UpdatedAt: push a complete database to the repository given with --db-repository"},
		{"no policy", meta, built, 0, ErrBadDB,
			"unusable trivy database: --max-db-age 0s is not a positive duration: use e.g. 168h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFreshness(tt.meta, tt.now, tt.maxAge)
			if tt.sentinel == nil {
				if err != nil {
					t.Fatalf("CheckFreshness: %v, want fresh", err)
				}
				return
			}
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("CheckFreshness error = %v, want %v", err, tt.sentinel)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("CheckFreshness message (-want +got):\n%s", diff)
			}
		})
	}
}
