package scan

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ReportSchemaVersion is the SchemaVersion of the JSON report trivy v0.74.0 writes.
const ReportSchemaVersion = 2

// ErrBadReport is wrapped when trivy's report cannot be read.
var ErrBadReport = errors.New("unreadable trivy report")

// Report is the part of trivy's JSON report (pkg/types.Report) the gate uses.
type Report struct {
	// SchemaVersion is the report format's version; ParseReport accepts ReportSchemaVersion.
	SchemaVersion int
	// ArtifactName is what trivy scanned, as it was named on the command line.
	ArtifactName string
	// Metadata describes the scanned artifact.
	Metadata Metadata
	// Results holds one entry per scanned target (the OS packages, each language's packages).
	Results []Result
}

// Metadata is the part of trivy's report metadata the gate uses.
type Metadata struct {
	// OS is the image's operating system; nil when trivy detected none (a scratch image).
	OS *OS
}

// OS is the operating system trivy detected (fanal types.OS).
type OS struct {
	// Family is the distribution, e.g. "debian".
	Family string
	// Name is its version, e.g. "12.5".
	Name string
}

// Result is one scanned target of trivy's report.
type Result struct {
	// Target names what was scanned, e.g. "host/app@sha256:… (debian 12.5)" or "usr/local/bin/app".
	Target string
	// Class is "os-pkgs" or "lang-pkgs" for package results.
	Class string
	// Type is the package ecosystem, e.g. "debian" or "gobinary".
	Type string
	// Vulnerabilities are the advisories that affect the target's packages.
	Vulnerabilities []Vulnerability
}

// Vulnerability is one advisory affecting one package (trivy's DetectedVulnerability).
type Vulnerability struct {
	// VulnerabilityID is the advisory, e.g. "CVE-2024-0727" or "GHSA-…".
	VulnerabilityID string
	// PkgName is the affected package's name.
	PkgName string
	// PkgID identifies the package, usually name@version.
	PkgID string
	// PkgPath is the file the package was found in, for language packages.
	PkgPath string
	// PkgIdentifier holds the package's purl.
	PkgIdentifier PkgIdentifier
	// InstalledVersion is the version in the image.
	InstalledVersion string
	// FixedVersion lists the versions that fix the advisory; empty when there is no fix yet.
	FixedVersion string
	// Severity is trivy's rating: UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL.
	Severity string
	// Title is the advisory's one-line summary.
	Title string
	// Description is the advisory's text.
	Description string
	// PrimaryURL is the advisory's page.
	PrimaryURL string
	// References are further pages about the advisory.
	References []string
}

// PkgIdentifier is the part of trivy's package identifier the gate uses.
type PkgIdentifier struct {
	// PURL is the package URL, e.g. "pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12.5".
	PURL string
}

// ParseReport reads trivy's JSON report (`trivy image --format json`). It refuses another
// SchemaVersion and a severity trivy does not write, so that a format change fails the gate
// instead of passing findings it misread.
func ParseReport(b []byte) (Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return Report{}, fmt.Errorf("%w: %v (want the output of trivy image --format json)", ErrBadReport, err)
	}
	if r.SchemaVersion != ReportSchemaVersion {
		return Report{}, fmt.Errorf("%w: SchemaVersion %d, this gate reads %d: scan with trivy v0.74.0's --format json",
			ErrBadReport, r.SchemaVersion, ReportSchemaVersion)
	}
	var errs []error
	for _, res := range r.Results {
		for _, v := range res.Vulnerabilities {
			if v.VulnerabilityID == "" {
				errs = append(errs, fmt.Errorf("%w: %s: a vulnerability of %s has no VulnerabilityID", ErrBadReport, res.Target, v.PkgName))
			}
			if _, ok := severityOf(v.Severity); !ok && v.Severity != "" {
				errs = append(errs, fmt.Errorf("%w: %s: %s in %s has severity %q, which trivy does not write (%s)",
					ErrBadReport, res.Target, v.VulnerabilityID, v.PkgName, v.Severity, acceptedSeverities()))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Report{}, err
	}
	return r, nil
}
