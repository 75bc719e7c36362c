package scan

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultMaxDBAge is how old trivy's vulnerability database may be before the gate refuses it.
const DefaultMaxDBAge = 7 * 24 * time.Hour

// DBSchemaVersion is the database schema trivy v0.74.0 reads (trivy-db pkg/db.SchemaVersion).
const DBSchemaVersion = 2

// ErrStaleDB is wrapped when the database is older than the policy allows.
var ErrStaleDB = errors.New("trivy database too old")

// ErrBadDB is wrapped when the database's metadata cannot be used.
var ErrBadDB = errors.New("unusable trivy database")

// DBMetadata is trivy's database metadata (metadata.json beside trivy.db, trivy-db
// pkg/metadata.Metadata).
type DBMetadata struct {
	// Version is the database schema version.
	Version int
	// NextUpdate is when trivy would look for a newer database.
	NextUpdate time.Time
	// UpdatedAt is when the database was built.
	UpdatedAt time.Time
	// DownloadedAt is when trivy downloaded it.
	DownloadedAt time.Time
}

// ParseDBMetadata reads metadata.json.
func ParseDBMetadata(b []byte) (DBMetadata, error) {
	var m DBMetadata
	if err := json.Unmarshal(b, &m); err != nil {
		return DBMetadata{}, fmt.Errorf("%w: metadata.json: %v", ErrBadDB, err)
	}
	return m, nil
}

// CheckFreshness refuses a database of another schema, one without a build time and one built
// more than maxAge before now; a database exactly maxAge old passes.
func CheckFreshness(meta DBMetadata, now time.Time, maxAge time.Duration) error {
	if maxAge <= 0 {
		return fmt.Errorf("%w: --max-db-age %s is not a positive duration: use e.g. %s", ErrBadDB, maxAge, DefaultMaxDBAge)
	}
	if meta.Version != DBSchemaVersion {
		return fmt.Errorf("%w: schema version %d, trivy v0.74.0 reads %d: push a database built for it to the repository given with --db-repository",
			ErrBadDB, meta.Version, DBSchemaVersion)
	}
	if meta.UpdatedAt.IsZero() {
		return fmt.Errorf("%w: metadata.json has no UpdatedAt: push a complete database to the repository given with --db-repository", ErrBadDB)
	}
	age := now.Sub(meta.UpdatedAt)
	if age <= maxAge {
		return nil
	}
	return fmt.Errorf("%w: %s old, built %s; the policy allows %s: push a fresh database to the repository given with --db-repository, or raise the policy with --max-db-age",
		ErrStaleDB, humanAge(age), meta.UpdatedAt.UTC().Format(time.DateOnly), humanAge(maxAge))
}

// humanAge writes a positive duration in days and hours, rounded up to the hour so that an age
// just past the policy never reads as the policy itself: "9 days", "7 days 1 hour", "1 hour".
func humanAge(d time.Duration) string {
	hours := int((d + time.Hour - 1) / time.Hour)
	var parts []string
	if days := hours / 24; days > 0 {
		parts = append(parts, plural(days, "day"))
	}
	if h := hours % 24; h > 0 {
		parts = append(parts, plural(h, "hour"))
	}
	return strings.Join(parts, " ")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
