package scan

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	testImage = "registry.example.com/app@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	debTarget = testImage + " (debian 12.8)"
)

func TestParseReportFindings(t *testing.T) {
	b, err := os.ReadFile("testdata/trivy-report.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseReport(b)
	if err != nil {
		t.Fatalf("ParseReport: %v", err)
	}
	if r.ArtifactName != testImage || r.Metadata.OS == nil || *r.Metadata.OS != (OS{Family: "debian", Name: "12.8"}) {
		t.Errorf("ArtifactName %q, OS %+v; want %s and debian 12.8", r.ArtifactName, r.Metadata.OS, testImage)
	}
	want := []Finding{
		{
			Image: testImage, Platform: "linux/amd64", Target: debTarget, Class: "os-pkgs", OS: "debian 12.8",
			ID: "CVE-2024-0727", Package: "libssl3",
			PURL:      "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.8",
			Installed: "3.0.11-1~deb12u2", Fixed: "3.0.13-1~deb12u1", Severity: Medium,
			Title:       "openssl: denial of service via null dereference",
			Description: "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash.",
			PrimaryURL:  "https://avd.aquasec.com/nvd/cve-2024-0727",
			References:  []string{"https://www.openssl.org/news/secadv/20240125.txt", "ftp://mirror.example.org/advisories/cve-2024-0727.txt", "CVE-2024-0727"},
		},
		{
			Image: testImage, Platform: "linux/amd64", Target: debTarget, Class: "os-pkgs", OS: "debian 12.8",
			ID: "CVE-2023-45853", Package: "zlib1g",
			PURL:      "pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&distro=debian-12.8&epoch=1",
			Installed: "1:1.2.13.dfsg-1", Severity: Critical,
			Title:       "zlib: integer overflow and resultant heap-based buffer overflow in zipOpenNewFileInZip4_6",
			Description: "MiniZip in zlib through 1.3 has an integer overflow.",
			PrimaryURL:  "https://avd.aquasec.com/nvd/cve-2023-45853",
			References:  []string{"https://github.com/madler/zlib/pull/843"},
		},
		{
			Image: testImage, Platform: "linux/amd64", Target: "usr/local/bin/app", Class: "lang-pkgs", OS: "debian 12.8",
			ID: "GHSA-xxxx-yyyy-zzzz", Package: "golang.org/x/net", PURL: "pkg:golang/golang.org/x/net@v0.20.0",
			Installed: "v0.20.0", Fixed: "0.23.0", Severity: High, Title: "net/http: memory exhaustion in HTTP/2",
		},
	}
	if diff := cmp.Diff(want, Findings(r, testImage, "linux/amd64")); diff != "" {
		t.Errorf("Findings (-want +got):\n%s", diff)
	}
}

func TestFindingsWithoutOS(t *testing.T) {
	r := Report{SchemaVersion: 2, Results: []Result{{Target: "app", Class: "lang-pkgs",
		Vulnerabilities: []Vulnerability{{VulnerabilityID: "CVE-1", PkgName: "p"}}}}}
	want := []Finding{{Image: "img", Platform: "linux/arm64", Target: "app", Class: "lang-pkgs", ID: "CVE-1", Package: "p", Severity: Unknown}}
	if diff := cmp.Diff(want, Findings(r, "img", "linux/arm64")); diff != "" {
		t.Errorf("Findings of a scratch image, empty severity (-want +got):\n%s", diff)
	}
}

func TestParseReportRefuses(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // parts of the message
	}{
		{"not JSON", `trivy: image not found`, []string{"want the output of trivy image --format json"}},
		{"table format", ``, []string{"want the output of trivy image --format json"}},
		{"old schema", `{"SchemaVersion": 1}`, []string{"SchemaVersion 1, this gate reads 2"}},
		{"no schema", `{"ArtifactName": "x"}`, []string{"SchemaVersion 0"}},
		{"unknown severity", `{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [
			{"VulnerabilityID": "CVE-1", "PkgName": "a", "Severity": "SEVERE"},
			{"VulnerabilityID": "", "PkgName": "b", "Severity": "LOW"}]}]}`,
			[]string{`t: CVE-1 in a has severity "SEVERE", which trivy does not write`, "t: a vulnerability of b has no VulnerabilityID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseReport([]byte(tt.in))
			wantError(t, err, ErrBadReport, tt.want...)
		})
	}
}
