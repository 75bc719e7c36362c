package scan

import (
	"cmp"
	"slices"
	"strings"
)

// Finding is one advisory affecting one package of one image on one platform.
type Finding struct {
	// Image is the scanned image by digest (host/repo@sha256:…), set by the caller.
	Image string
	// Platform is the scanned platform, e.g. "linux/arm64", set by the caller.
	Platform string
	// Target is trivy's scanned target the package belongs to.
	Target string
	// Class is trivy's result class: "os-pkgs" or "lang-pkgs".
	Class string
	// OS is the image's operating system, e.g. "debian 12.5"; empty when trivy detected none.
	OS string
	// ID is the advisory, e.g. "CVE-2024-0727".
	ID string
	// Package is the affected package's name.
	Package string
	// PkgPath is the file the package was found in (language packages).
	PkgPath string
	// PURL is the package URL.
	PURL string
	// Installed is the version in the image.
	Installed string
	// Fixed lists the fixing versions; empty when there is no fix yet.
	Fixed string
	// Severity is trivy's rating.
	Severity Severity
	// Title is the advisory's one-line summary.
	Title string
	// Description is the advisory's text.
	Description string
	// PrimaryURL is the advisory's page.
	PrimaryURL string
	// References are further pages about the advisory.
	References []string
}

// Findings flattens a report of the image scanned for platform into findings. A severity
// trivy left empty is Unknown, as trivy itself reads it.
func Findings(r Report, image, platform string) []Finding {
	var os string
	if r.Metadata.OS != nil {
		os = strings.TrimSpace(r.Metadata.OS.Family + " " + r.Metadata.OS.Name)
	}
	var out []Finding
	for _, res := range r.Results {
		for _, v := range res.Vulnerabilities {
			sev, _ := severityOf(v.Severity)
			out = append(out, Finding{
				Image: image, Platform: platform, Target: res.Target, Class: res.Class, OS: os,
				ID: v.VulnerabilityID, Package: v.PkgName, PkgPath: v.PkgPath, PURL: v.PkgIdentifier.PURL,
				Installed: v.InstalledVersion, Fixed: v.FixedVersion, Severity: sev,
				Title: v.Title, Description: v.Description, PrimaryURL: v.PrimaryURL, References: v.References,
			})
		}
	}
	return out
}

// compareFindings orders findings by image, platform, severity (most severe first), package,
// installed version, advisory and location, so every list the package returns is in one order.
func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(a.Image, b.Image),
		cmp.Compare(a.Platform, b.Platform),
		cmp.Compare(b.Severity, a.Severity),
		cmp.Compare(a.Package, b.Package),
		cmp.Compare(a.Installed, b.Installed),
		cmp.Compare(a.ID, b.ID),
		cmp.Compare(a.Target, b.Target),
		cmp.Compare(a.PkgPath, b.PkgPath),
	)
}

// sortFindings sorts a copy of fs with compareFindings.
func sortFindings(fs []Finding) []Finding {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, compareFindings)
	return out
}
