package scan

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// GitLabSchemaVersion is the version of GitLab's container-scanning report schema
// (security-report-schemas, dist/container-scanning-report-format.json) GitLabReport writes;
// trivy v0.74.0's own contrib/gitlab.tpl writes the same.
const GitLabSchemaVersion = "15.0.7"

// gitLabTime is the schema's time format: UTC, to the second, without a zone.
const gitLabTime = "2006-01-02T15:04:05"

// Limits of the schema's vulnerability fields, in characters.
const (
	maxName        = 255
	maxDescription = 1048576
	maxSolution    = 7000
)

// gitLabURL is the schema's pattern for identifier and link URLs.
var gitLabURL = regexp.MustCompile(`^(https?|ftp)://.+`)

// gitLabReport is a container-scanning report, field by field as the schema names them.
type gitLabReport struct {
	Version         string                `json:"version"`
	Scan            gitLabScan            `json:"scan"`
	Vulnerabilities []gitLabVulnerability `json:"vulnerabilities"`
}

type gitLabScan struct {
	Analyzer  gitLabTool `json:"analyzer"`
	Scanner   gitLabTool `json:"scanner"`
	Type      string     `json:"type"`
	StartTime string     `json:"start_time"`
	EndTime   string     `json:"end_time"`
	Status    string     `json:"status"`
}

type gitLabTool struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	URL     string       `json:"url,omitempty"`
	Version string       `json:"version"`
	Vendor  gitLabVendor `json:"vendor"`
}

type gitLabVendor struct {
	Name string `json:"name"`
}

type gitLabVulnerability struct {
	ID          string             `json:"id"`
	Name        string             `json:"name,omitempty"`
	Description string             `json:"description,omitempty"`
	Severity    string             `json:"severity"`
	Solution    string             `json:"solution,omitempty"`
	Location    gitLabLocation     `json:"location"`
	Identifiers []gitLabIdentifier `json:"identifiers"`
	Links       []gitLabLink       `json:"links,omitempty"`
}

type gitLabLocation struct {
	Dependency      gitLabDependency `json:"dependency"`
	OperatingSystem string           `json:"operating_system"`
	Image           string           `json:"image"`
}

type gitLabDependency struct {
	Package gitLabPackage `json:"package"`
	Version string        `json:"version"`
}

type gitLabPackage struct {
	Name string `json:"name"`
}

type gitLabIdentifier struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
	URL   string `json:"url,omitempty"`
}

type gitLabLink struct {
	URL string `json:"url"`
}

// gitLabSeverity is the schema's spelling of each severity.
var gitLabSeverity = map[Severity]string{Unknown: "Unknown", Low: "Low", Medium: "Medium", High: "High", Critical: "Critical"}

// GitLabReport writes findings (usually Verdict.Open of every image) as GitLab's
// container-scanning report, schema GitLabSchemaVersion, for the artifacts:reports:
// container_scanning of a job. Trivy is both the analyzer and the scanner, as in trivy's own
// template; scannerVersion is trivy's version, e.g. "0.74.0". Each vulnerability's id is a
// UUID derived from its image, platform, target, package and advisory, so the same finding has
// the same id in every report; findings with the same id are written once.
func GitLabReport(findings []Finding, scannerVersion string, start, end time.Time) ([]byte, error) {
	if scannerVersion == "" {
		return nil, fmt.Errorf("GitLab report: no scanner version: pass trivy's version, e.g. 0.74.0")
	}
	if end.Before(start) {
		return nil, fmt.Errorf("GitLab report: the scan ends (%s) before it starts (%s)", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	trivy := gitLabTool{ID: "trivy", Name: "Trivy", URL: "https://github.com/aquasecurity/trivy/", Version: scannerVersion, Vendor: gitLabVendor{Name: "Aqua Security"}}
	r := gitLabReport{
		Version: GitLabSchemaVersion,
		Scan: gitLabScan{
			Analyzer: trivy, Scanner: trivy, Type: "container_scanning", Status: "success",
			StartTime: start.UTC().Format(gitLabTime), EndTime: end.UTC().Format(gitLabTime),
		},
		Vulnerabilities: []gitLabVulnerability{},
	}
	seen := map[string]bool{}
	for _, f := range sortFindings(findings) {
		if f.Image == "" {
			return nil, fmt.Errorf("GitLab report: %s in %s has no image: set each finding's Image to the scanned image by digest", f.ID, f.Package)
		}
		v := gitLabVuln(f)
		if !seen[v.ID] {
			seen[v.ID] = true
			r.Vulnerabilities = append(r.Vulnerabilities, v)
		}
	}
	return json.MarshalIndent(r, "", "  ")
}

func gitLabVuln(f Finding) gitLabVulnerability {
	name := f.Title
	if name == "" {
		name = f.ID
	}
	solution := "No fix is available yet."
	if f.Fixed != "" {
		solution = fmt.Sprintf("Upgrade %s to %s.", f.Package, f.Fixed)
	}
	id := gitLabIdentifier{Type: identifierType(f.ID), Name: f.ID, Value: f.ID}
	if gitLabURL.MatchString(f.PrimaryURL) {
		id.URL = f.PrimaryURL
	}
	var links []gitLabLink
	seen := map[string]bool{}
	for _, u := range f.References {
		if gitLabURL.MatchString(u) && !seen[u] {
			seen[u] = true
			links = append(links, gitLabLink{URL: u})
		}
	}
	return gitLabVulnerability{
		ID:          findingUUID(f),
		Name:        truncate(name, maxName),
		Description: truncate(f.Description, maxDescription),
		Severity:    gitLabSeverity[f.Severity],
		Solution:    truncate(solution, maxSolution),
		Location: gitLabLocation{
			Dependency:      gitLabDependency{Package: gitLabPackage{Name: f.Package}, Version: f.Installed},
			OperatingSystem: cmp.Or(f.OS, "Unknown"),
			Image:           f.Image,
		},
		Identifiers: []gitLabIdentifier{id},
		Links:       links,
	}
}

// identifierType is the kind of advisory an id names, lower case: "cve" for CVE-2024-0727,
// "ghsa" for GHSA-…, the prefix before the first dash otherwise (e.g. "dla"), "trivy" without one.
func identifierType(id string) string {
	prefix, _, ok := strings.Cut(id, "-")
	if !ok || prefix == "" {
		return "trivy"
	}
	return strings.ToLower(prefix)
}

// findingUUID derives a UUID (RFC 9562 version 8: custom, here SHA-256) from the finding's
// image, platform, target, package path, package and advisory.
func findingUUID(f Finding) string {
	h := sha256.Sum256([]byte(strings.Join([]string{f.Image, f.Platform, f.Target, f.PkgPath, f.Package, f.ID}, "\x00")))
	h[6] = h[6]&0x0f | 0x80 // version 8
	h[8] = h[8]&0x3f | 0x80 // variant 10
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// truncate cuts s to at most n characters (the schema counts characters, not bytes).
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
