package scan

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseIgnore(t *testing.T) {
	tests := []struct {
		name, in string
		want     []IgnoreEntry
	}{
		{"empty file", "", nil},
		{"comments only", "# nothing ignored yet\n", nil},
		{"empty list", "vulnerabilities: []\n", nil},
		{"null list", "vulnerabilities:\n", nil},
		{"other sections left to trivy", "misconfigurations:\n  - id: AVD-DS-0002\nsecrets: []\nlicenses: []\n", nil},
		{"trivy's documented example", `vulnerabilities:
  - id: CVE-2022-40897
    paths:
      - "usr/local/lib/python3.9/site-packages/setuptools-58.1.0.dist-info/METADATA"
    statement: Accept the risk
  - id: CVE-2023-2650
    purls:
      - "pkg:deb/debian/libssl1.1"
    statement: not reachable from our code
    expired_at: 2026-01-01
  - id: "GHSA-xxxx-yyyy-zzzz"
    expired_at: 2026-03-15T12:00:00Z
    statement: "fixed upstream, waiting for the release"
`, []IgnoreEntry{
			{ID: "CVE-2022-40897", Paths: []string{"usr/local/lib/python3.9/site-packages/setuptools-58.1.0.dist-info/METADATA"},
				Statement: "Accept the risk", Position: 1, Line: 2},
			{ID: "CVE-2023-2650", PURLs: []string{"pkg:deb/debian/libssl1.1"}, Statement: "not reachable from our code",
				ExpiredAt: day("2026-01-01"), Position: 2, Line: 6},
			{ID: "GHSA-xxxx-yyyy-zzzz", ExpiredAt: day("2026-03-15").Add(12 * time.Hour), Statement: "fixed upstream, waiting for the release", Position: 3, Line: 11},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIgnore([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseIgnore: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseIgnore (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseIgnoreRefuses(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // parts of the message, one per problem
	}{
		{"no statement", "vulnerabilities:\n  - id: CVE-2024-1\n  - id: CVE-2024-2\n    statement: ok\n  - id: CVE-2024-3\n    statement: '  '\n",
			[]string{`vulnerabilities entry 1 (id "CVE-2024-1", line 2): no statement: add ` + "`statement:`",
				`vulnerabilities entry 3 (id "CVE-2024-3", line 5): no statement: add ` + "`statement:`"}},
		{"no id", "vulnerabilities:\n  - statement: because\n",
			[]string{`vulnerabilities entry 1 (id "", line 2): no id: add ` + "`id:`"}},
		{"misspelt key", "vulnerabilities:\n  - id: CVE-2024-1\n    statement: ok\n    expires_at: 2026-01-01\n",
			[]string{`vulnerabilities entry 1 (id "CVE-2024-1", line 2): line 4: expires_at: unknown key "expires_at": use id, paths, purls, statement, expired_at`}},
		{"bad date", "vulnerabilities:\n  - id: CVE-2024-1\n    statement: ok\n    expired_at: next year\n",
			[]string{`(id "CVE-2024-1", line 2): line 4: expired_at:`}},
		{"quoted date, which trivy's decoder refuses too", "vulnerabilities:\n  - id: CVE-2024-1\n    statement: ok\n    expired_at: \"2026-01-01\"\n",
			[]string{`line 4: expired_at: parsing time "2026-01-01" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "T": write the date unquoted as YYYY-MM-DD, e.g. expired_at: 2026-01-01`}},
		{"bad purl", "vulnerabilities:\n  - id: CVE-2024-1\n    statement: ok\n    purls: [deb/debian/openssl]\n",
			[]string{`purls: "deb/debian/openssl" is not a package URL: it must start with pkg:`}},
		{"purl without name", "vulnerabilities:\n  - id: CVE-2024-1\n    statement: ok\n    purls: [\"pkg:deb\"]\n",
			[]string{`package URL "pkg:deb" has no type and name`}},
		{"bad pattern", "vulnerabilities:\n  - id: CVE-2024-1\n    statement: ok\n    paths: [\"usr/[a\"]\n",
			[]string{`paths: pattern "usr/[a": syntax error in pattern`}},
		{"braces", "vulnerabilities:\n  - id: CVE-2024-1\n    statement: ok\n    paths: [\"usr/{a,b}\"]\n",
			[]string{`has brace alternatives, which this gate does not read: write one entry per path`}},
		{"paths not a list", "vulnerabilities:\n  - id: CVE-2024-1\n    statement: ok\n    paths: {a: b}\n",
			[]string{`line 4: paths:`}},
		{"entry not a mapping", "vulnerabilities:\n  - CVE-2024-1\n",
			[]string{`vulnerabilities entry 1 (line 2) is not a mapping`}},
		{"not a list", "vulnerabilities: CVE-2024-1\n", []string{`line 1: vulnerabilities must be a list of entries`}},
		{"unknown section", "vulnerability:\n  - id: CVE-2024-1\n",
			[]string{`line 1: unknown key "vulnerability": use vulnerabilities, misconfigurations, secrets, licenses`}},
		{"the old text format", "CVE-2024-1\nCVE-2024-2\n", []string{`want a mapping with a vulnerabilities: list`}},
		{"not YAML", "vulnerabilities: [\n", []string{"yaml:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIgnore([]byte(tt.in))
			wantError(t, err, ErrBadIgnore, tt.want...)
			if n := strings.Count(err.Error(), ErrBadIgnore.Error()); n != len(tt.want) {
				t.Errorf("ParseIgnore error names %d problems, want %d:\n%s", n, len(tt.want), err)
			}
		})
	}
}

func TestIgnoreEntryExpired(t *testing.T) {
	e := IgnoreEntry{ID: "CVE-1", ExpiredAt: day("2026-01-01")}
	tests := []struct {
		now  time.Time
		want bool
	}{
		{day("2025-12-31").Add(23*time.Hour + 59*time.Minute), false},
		{day("2026-01-01"), false},
		{day("2026-01-01").Add(time.Second), true},
		{day("2027-06-01"), true},
	}
	for _, tt := range tests {
		if got := e.Expired(tt.now); got != tt.want {
			t.Errorf("entry expiring 2026-01-01: Expired(%s) = %v, want %v", tt.now, got, tt.want)
		}
	}
	if (IgnoreEntry{ID: "CVE-1"}).Expired(day("2999-01-01")) {
		t.Error("an entry without expired_at expired")
	}
}

func TestIgnoreEntryMatches(t *testing.T) {
	deb := Finding{ID: "CVE-1", Target: debTarget, Package: "libssl3",
		PURL: "pkg:deb/debian/libssl3@3.0.11-1?arch=amd64&distro=debian-12.8"}
	gobin := Finding{ID: "CVE-1", Target: "usr/local/bin/app", Package: "golang.org/x/net",
		PURL: "pkg:golang/golang.org/x/net@v0.20.0"}
	jar := Finding{ID: "CVE-1", Target: "Java", PkgPath: "opt/app/lib/log4j-core-2.14.1.jar", Package: "org.apache.logging.log4j:log4j-core",
		PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}
	noPURL := Finding{ID: "CVE-1", Target: "usr/bin/tool", Package: "tool"}
	tests := []struct {
		name  string
		entry IgnoreEntry
		f     Finding
		want  bool
	}{
		{"id only", IgnoreEntry{ID: "CVE-1"}, deb, true},
		{"other id", IgnoreEntry{ID: "CVE-2"}, deb, false},
		{"id is case sensitive as in trivy", IgnoreEntry{ID: "cve-1"}, deb, false},
		{"path exact", IgnoreEntry{ID: "CVE-1", Paths: []string{"usr/local/bin/app"}}, gobin, true},
		{"path star within a segment", IgnoreEntry{ID: "CVE-1", Paths: []string{"usr/local/bin/*"}}, gobin, true},
		{"star does not cross a slash", IgnoreEntry{ID: "CVE-1", Paths: []string{"usr/*"}}, gobin, false},
		{"double star crosses slashes", IgnoreEntry{ID: "CVE-1", Paths: []string{"usr/**"}}, gobin, true},
		{"double star in the middle", IgnoreEntry{ID: "CVE-1", Paths: []string{"usr/**/app"}}, gobin, true},
		{"double star for no segment", IgnoreEntry{ID: "CVE-1", Paths: []string{"usr/local/bin/**/app"}}, gobin, true},
		{"other path", IgnoreEntry{ID: "CVE-1", Paths: []string{"opt/**"}}, gobin, false},
		{"any of several paths", IgnoreEntry{ID: "CVE-1", Paths: []string{"opt/**", "usr/local/bin/app"}}, gobin, true},
		{"package path", IgnoreEntry{ID: "CVE-1", Paths: []string{"opt/app/lib/*.jar"}}, jar, true},
		{"purl without version", IgnoreEntry{ID: "CVE-1", PURLs: []string{"pkg:deb/debian/libssl3"}}, deb, true},
		{"purl with the version", IgnoreEntry{ID: "CVE-1", PURLs: []string{"pkg:deb/debian/libssl3@3.0.11-1"}}, deb, true},
		{"purl with another version", IgnoreEntry{ID: "CVE-1", PURLs: []string{"pkg:deb/debian/libssl3@3.0.13-1"}}, deb, false},
		{"purl with a qualifier the package has", IgnoreEntry{ID: "CVE-1", PURLs: []string{"pkg:deb/debian/libssl3?arch=amd64"}}, deb, true},
		{"purl with a qualifier the package lacks", IgnoreEntry{ID: "CVE-1", PURLs: []string{"pkg:deb/debian/libssl3?arch=arm64"}}, deb, false},
		{"purl of another package", IgnoreEntry{ID: "CVE-1", PURLs: []string{"pkg:deb/debian/openssl"}}, deb, false},
		{"purl of another type", IgnoreEntry{ID: "CVE-1", PURLs: []string{"pkg:rpm/debian/libssl3"}}, deb, false},
		{"purl with a namespace path", IgnoreEntry{ID: "CVE-1", PURLs: []string{"pkg:golang/golang.org/x/net"}}, gobin, true},
		{"purl type in capitals", IgnoreEntry{ID: "CVE-1", PURLs: []string{"pkg:GOLANG/golang.org/x/net"}}, gobin, true},
		{"percent-encoded name", IgnoreEntry{ID: "CVE-1", PURLs: []string{"pkg:maven/org.apache.logging.log4j/log4j%2Dcore"}}, jar, true},
		{"purl given, package has none", IgnoreEntry{ID: "CVE-1", PURLs: []string{"pkg:deb/debian/other"}}, noPURL, true},
		{"path and purl both needed", IgnoreEntry{ID: "CVE-1", Paths: []string{"opt/**"}, PURLs: []string{"pkg:golang/golang.org/x/net"}}, gobin, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.entry.Matches(tt.f); got != tt.want {
				t.Errorf("%+v.Matches(%s in %s) = %v, want %v", tt.entry, tt.f.Package, tt.f.Target, got, tt.want)
			}
		})
	}
}
