package scan

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// VulnPredicateType is the in-toto predicate type of cosign's vulnerability attestation
// (cosign pkg/cosign/attestation.CosignVulnProvenanceV01).
const VulnPredicateType = "https://cosign.sigstore.dev/attestation/vuln/v1"

// CosignVulnPredicate is cosign's vulnerability scan predicate, with cosign's JSON names
// (pkg/cosign/attestation.CosignVulnPredicate in cosign v3.1.3).
type CosignVulnPredicate struct {
	// Invocation says what ran the scan.
	Invocation Invocation `json:"invocation"`
	// Scanner says which scanner and database produced Result.
	Scanner Scanner `json:"scanner"`
	// Metadata holds when the scan ran.
	Metadata ScanMetadata `json:"metadata"`
}

// Invocation is what ran the scan.
type Invocation struct {
	// Parameters are the scan's settings (threshold, platform, …); any JSON value.
	Parameters any `json:"parameters"`
	// URI points at the run, e.g. the CI job's URL.
	URI string `json:"uri"`
	// EventID identifies the run, e.g. the pipeline id.
	EventID string `json:"event_id"`
	// BuilderID identifies what ran the scan, e.g. the module's name.
	BuilderID string `json:"builder.id"`
}

// Scanner is the scanner, its database and its result.
type Scanner struct {
	// URI is the scanner as a package URL, e.g. "pkg:github/aquasecurity/trivy@0.74.0".
	URI string `json:"uri"`
	// Version is the scanner's version.
	Version string `json:"version"`
	// DB is the vulnerability database the scanner used.
	DB ScannerDB `json:"db"`
	// Result is the scanner's report, as it wrote it.
	Result json.RawMessage `json:"result"`
}

// ScannerDB is the vulnerability database a scan used.
type ScannerDB struct {
	// URI is where the database came from, e.g. the --db-repository reference.
	URI string `json:"uri"`
	// Version is the database's version, e.g. its digest or build time.
	Version string `json:"version"`
}

// ScanMetadata holds when the scan ran.
type ScanMetadata struct {
	// ScanStartedOn is when the scan started.
	ScanStartedOn time.Time `json:"scanStartedOn"`
	// ScanFinishedOn is when it finished.
	ScanFinishedOn time.Time `json:"scanFinishedOn"`
}

// VulnInput is what VulnPredicate records.
type VulnInput struct {
	// Report is trivy's JSON report, recorded as it is.
	Report []byte
	// ScannerVersion is trivy's version, e.g. "0.74.0".
	ScannerVersion string
	// DB is the database the scan used.
	DB ScannerDB
	// Invocation says what ran the scan.
	Invocation Invocation
	// Start and Finish are when the scan ran.
	Start, Finish time.Time
}

// VulnPredicate builds cosign's vulnerability predicate for one scan (for `cosign attest --type
// vuln`). The scanner's URI is trivy's package URL, as trivy's own cosign-vuln format writes it.
func VulnPredicate(in VulnInput) (CosignVulnPredicate, error) {
	var errs []error
	if !json.Valid(in.Report) {
		errs = append(errs, errors.New("the report is not JSON: pass trivy's --format json output"))
	}
	if in.ScannerVersion == "" {
		errs = append(errs, errors.New("no scanner version: pass trivy's version, e.g. 0.74.0"))
	}
	if in.Finish.Before(in.Start) {
		errs = append(errs, fmt.Errorf("the scan finishes (%s) before it starts (%s)", in.Finish.Format(time.RFC3339), in.Start.Format(time.RFC3339)))
	}
	if err := errors.Join(errs...); err != nil {
		return CosignVulnPredicate{}, fmt.Errorf("vulnerability predicate: %w", err)
	}
	return CosignVulnPredicate{
		Invocation: in.Invocation,
		Scanner: Scanner{
			URI:     "pkg:github/aquasecurity/trivy@" + in.ScannerVersion,
			Version: in.ScannerVersion,
			DB:      in.DB,
			Result:  json.RawMessage(in.Report),
		},
		Metadata: ScanMetadata{ScanStartedOn: in.Start.UTC(), ScanFinishedOn: in.Finish.UTC()},
	}, nil
}
