package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// advisory is one fixture vulnerability of a source package, as trivy reports it for each of its
// installed binary packages.
type advisory struct {
	ID        string `json:"id"`
	Severity  string `json:"severity"`  // what trivy reports
	Package   string `json:"package"`   // the installed binary package (trivy's PkgName)
	Source    string `json:"source"`    // its source package, which Debian's advisories name
	Installed string `json:"installed"` // the installed version (trivy's InstalledVersion)
	// SourceVersion is the installed source version, which trivy compares with Fixed.
	SourceVersion string `json:"sourceVersion"`
	Fixed         string `json:"fixed"`
	Title         string `json:"title"`
}

// fixtureSuffix makes the fixed version: the installed source version followed by it sorts after
// it in Debian's order ('+' sorts after the end of a version).
const fixtureSuffix = "+fixture1"

func fixtures(pkgs map[string]dpkg, critical, high string) ([]advisory, error) {
	var advs []advisory
	for _, f := range []struct{ id, severity, pkg string }{
		{"CVE-2099-0001", "CRITICAL", critical},
		{"CVE-2099-0002", "HIGH", high},
	} {
		if f.pkg == "" {
			continue
		}
		p, ok := pkgs[f.pkg]
		if !ok {
			return nil, fmt.Errorf("%s is not installed in the root filesystem (its dpkg status)", f.pkg)
		}
		advs = append(advs, advisory{
			ID: f.id, Severity: f.severity, Package: f.pkg, Source: p.source, Installed: p.version,
			SourceVersion: p.sourceVersion, Fixed: p.sourceVersion + fixtureSuffix,
			Title: fmt.Sprintf("SHIPYARD TEST FIXTURE, not a real vulnerability: %s made by hack/vulndb for the offline vulnerability-gate tests", p.source),
		})
	}
	if len(advs) == 0 {
		return nil, errors.New("no advisory to make: -critical and -high are both empty")
	}
	return advs, nil
}

type osRelease struct{ codename, major string }

func readOSRelease(rootfs string) (osRelease, error) {
	var b []byte
	var err error
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		// etc/os-release is usually a relative link to ../usr/lib/os-release: read it in the tree
		if b, err = os.ReadFile(filepath.Join(rootfs, p)); err == nil {
			break
		}
	}
	if err != nil {
		return osRelease{}, fmt.Errorf("no os-release in %s: %w", rootfs, err)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = strings.Trim(v, `"'`)
		}
	}
	rel := osRelease{codename: kv["VERSION_CODENAME"], major: strings.SplitN(kv["VERSION_ID"], ".", 2)[0]}
	if kv["ID"] != "debian" || rel.codename == "" || rel.major == "" {
		return osRelease{}, fmt.Errorf("%s is no Debian release with a codename and a version (ID=%q VERSION_CODENAME=%q VERSION_ID=%q)",
			rootfs, kv["ID"], kv["VERSION_CODENAME"], kv["VERSION_ID"])
	}
	return rel, nil
}

// dpkg is an installed binary package: its version and its source package's name and version,
// as trivy's dpkg analyzer reads them.
type dpkg struct{ version, source, sourceVersion string }

// readDpkgStatus reads the installed packages of a dpkg status file. A package without a Source
// field is its own source; a Source field without a version in parentheses has the package's.
func readDpkgStatus(path string) (map[string]dpkg, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pkgs := map[string]dpkg{}
	for _, para := range bytes.Split(b, []byte("\n\n")) {
		f := map[string]string{}
		sc := bufio.NewScanner(bytes.NewReader(para))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && !strings.HasPrefix(k, " ") {
				f[k] = strings.TrimSpace(v)
			}
		}
		if f["Package"] == "" || f["Status"] != "install ok installed" {
			continue
		}
		if _, seen := pkgs[f["Package"]]; seen {
			continue // another architecture of a Multi-Arch package: the first counts
		}
		p := dpkg{version: f["Version"], source: f["Package"], sourceVersion: f["Version"]}
		if src := f["Source"]; src != "" {
			name, ver, ok := strings.Cut(src, " (")
			p.source = name
			if ok {
				p.sourceVersion = strings.TrimSuffix(ver, ")")
			}
		}
		pkgs[f["Package"]] = p
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("%s lists no installed package", path)
	}
	return pkgs, nil
}

// The tracker JSON of vuln-list-debian (trivy-db's pkg/vulnsrc/debian): one file per CVE with
// the security tracker's header and annotations, a line each of data/CVE/list.
type trackerBug struct {
	Header      trackerHeader
	Annotations []trackerAnnotation
}

type trackerHeader struct {
	Original    string
	ID          string
	Description string
}

type trackerAnnotation struct {
	Original string
	Type     string
	Release  string `json:",omitempty"`
	Package  string
	Kind     string
	Version  string
	Severity string `json:",omitempty"`
}

// writeTree writes the advisory tree trivy-db build reads with --cache-dir:
//
//	vuln-list-debian/tracker/distributions.json           the release's codename and major version
//	vuln-list-debian/tracker/CVE/<id>.json                 each advisory: fixed in sid and in the release
//	vuln-list-debian/tracker/source/<codename>/main/…     the release's source package at the fixed version
//	vuln-list-debian/tracker/DLA, DSA                      empty (trivy-db walks them)
//	vuln-list-nvd/api/2099/<id>.json                       the NVD record of the CRITICAL one (CVSS 3.1, 9.8)
//
// Debian's urgencies go up to "high" only: the CRITICAL severity comes from NVD, which trivy
// takes when Debian gives none.
func writeTree(dir string, rel osRelease, advs []advisory) error {
	tracker := filepath.Join(dir, "vuln-list-debian", "tracker")
	files := map[string]any{
		"distributions.json": map[string]map[string]string{
			rel.codename: {"major-version": rel.major, "support": "security", "contact": ""},
			"sid":        {"major-version": "", "support": "none", "contact": ""},
		},
	}
	for _, a := range advs {
		severity := "" // NVD's says
		if a.Severity == "HIGH" {
			severity = "high"
		}
		sid := trackerAnnotation{Original: fmt.Sprintf("- %s %s", a.Source, a.Fixed), Type: "package",
			Package: a.Source, Kind: "fixed", Version: a.Fixed, Severity: severity}
		if severity != "" {
			sid.Original += " (" + severity + ")"
		}
		files["CVE/"+a.ID+".json"] = trackerBug{
			Header: trackerHeader{Original: a.ID + " (" + a.Title + ")", ID: a.ID, Description: "(" + a.Title + ")"},
			Annotations: []trackerAnnotation{sid, {
				Original: fmt.Sprintf("[%s] - %s %s", rel.codename, a.Source, a.Fixed), Type: "package",
				Release: rel.codename, Package: a.Source, Kind: "fixed", Version: a.Fixed,
			}},
		}
		// trivy-db marks a release's fix "unfixed" when the release's Sources hold an older version
		files[filepath.Join("source", rel.codename, "main", a.Source[:1], a.Source+".json")] = map[string][]string{
			"Package": {a.Source}, "Version": {a.Fixed},
		}
		if a.Severity == "CRITICAL" {
			if err := writeJSON(filepath.Join(dir, "vuln-list-nvd", "api", "2099", a.ID+".json"), nvdRecord(a)); err != nil {
				return err
			}
		}
	}
	for name, v := range files {
		if err := writeJSON(filepath.Join(tracker, name), v); err != nil {
			return err
		}
	}
	for _, d := range []string{"DLA", "DSA"} {
		if err := os.MkdirAll(filepath.Join(tracker, d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// nvdRecord is an NVD API 2.0 CVE record (trivy-db's pkg/vulnsrc/nvd reads the metrics of the
// source nvd@nist.gov).
func nvdRecord(a advisory) map[string]any {
	return map[string]any{
		"id":           a.ID,
		"published":    "2099-01-01T00:00:00.000",
		"lastModified": "2099-01-01T00:00:00.000",
		"vulnStatus":   "Analyzed",
		"descriptions": []map[string]string{{"lang": "en", "value": a.Title}},
		"metrics": map[string]any{"cvssMetricV31": []map[string]any{{
			"source": "nvd@nist.gov", "type": "Primary",
			"cvssData": map[string]any{"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
				"baseScore": 9.8, "baseSeverity": "CRITICAL"},
		}}},
		"references": []map[string]string{},
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
