package scan

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrAttestedBlocked is wrapped by Recheck when an attested report holds a finding at or above the
// threshold that the gate did not accept.
var ErrAttestedBlocked = errors.New("the attested scan does not pass")

// GateParameters are the invocation parameters of the gate's vulnerability attestation: the
// threshold it passed at, the platform scanned and the findings the ignore file accepted, so a
// verifier can re-check the recorded report at a threshold of its own.
type GateParameters struct {
	// FailOn is the gate's threshold, e.g. "CRITICAL".
	FailOn string `json:"fail-on"`
	// Platform is the scanned platform, e.g. "linux/amd64".
	Platform string `json:"platform"`
	// Accepted are the findings of the report an unexpired ignore entry accepted.
	Accepted []AcceptedFinding `json:"accepted,omitempty"`
}

// AcceptedFinding is one finding an ignore entry accepted, and the entry's statement.
type AcceptedFinding struct {
	// ID is the advisory, e.g. "CVE-2024-0727".
	ID string `json:"id"`
	// Package is the affected package's name.
	Package string `json:"package"`
	// PkgPath is the file the package was found in (language packages).
	PkgPath string `json:"path,omitempty"`
	// Installed is the version in the image.
	Installed string `json:"installed"`
	// Statement is the ignore entry's reason.
	Statement string `json:"statement"`
}

// matches says whether a is the finding f.
func (a AcceptedFinding) matches(f Finding) bool {
	return a.ID == f.ID && a.Package == f.Package && a.PkgPath == f.PkgPath && a.Installed == f.Installed
}

// Parameters are the gate's parameters for the attestation of one image × platform of the verdict.
func (v Verdict) Parameters(image, platform string) GateParameters {
	p := GateParameters{FailOn: v.Threshold.String(), Platform: platform}
	for _, ig := range v.Ignored {
		if ig.Finding.Image != image || ig.Finding.Platform != platform {
			continue
		}
		a := AcceptedFinding{ID: ig.Finding.ID, Package: ig.Finding.Package, PkgPath: ig.Finding.PkgPath, Installed: ig.Finding.Installed, Statement: ig.Entry.Statement}
		if !slices.Contains(p.Accepted, a) {
			p.Accepted = append(p.Accepted, a)
		}
	}
	return p
}

// ParseVulnPredicate reads a cosign vulnerability predicate.
func ParseVulnPredicate(b []byte) (CosignVulnPredicate, error) {
	var p CosignVulnPredicate
	if err := json.Unmarshal(b, &p); err != nil {
		return CosignVulnPredicate{}, fmt.Errorf("the vulnerability predicate cannot be read: %w", err)
	}
	return p, nil
}

// Recheck re-decides an attested scan at threshold: every finding of the recorded report at or above it must be one the gate accepted
// (GateParameters.Accepted). A report that is not trivy's JSON is an error; a predicate without
// the gate's parameters (another tool's) accepts nothing.
func Recheck(p CosignVulnPredicate, threshold Severity) error {
	rep, err := ParseReport(p.Scanner.Result)
	if err != nil {
		return fmt.Errorf("%w: the attested report: %v", ErrAttestedBlocked, err)
	}
	var params GateParameters
	if raw, err := json.Marshal(p.Invocation.Parameters); err == nil {
		_ = json.Unmarshal(raw, &params) // another tool's parameters: nothing accepted
	}
	var lines []string
	for _, f := range sortFindings(Findings(rep, "", "")) {
		if f.Severity < threshold || slices.ContainsFunc(params.Accepted, func(a AcceptedFinding) bool { return a.matches(f) }) {
			continue
		}
		if line := describePackage(f); !slices.Contains(lines, line) {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	gate := "a gate of unknown threshold"
	if params.FailOn != "" {
		gate = "the gate at " + params.FailOn
	}
	return fmt.Errorf("%w at %s: %s in the report %s passed (scanned %s) at or above %s, not accepted:\n  %s\nrescan the image with the gate at that threshold (with-signing … with-scan --fail-on=%s … scan --tag=TAG) and fix or accept the findings, or verify at the threshold the gate used",
		ErrAttestedBlocked, threshold, plural(len(lines), "finding"), gate, p.Metadata.ScanFinishedOn.UTC().Format("2006-01-02 15:04 UTC"),
		threshold, strings.Join(lines, "\n  "), strings.ToLower(threshold.String()))
}
