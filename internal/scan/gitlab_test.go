package scan

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// validateGitLab checks a report against the required fields, patterns, enums and limits of
// GitLab's container-scanning report schema 15.0.7 (security-report-schemas,
// dist/container-scanning-report-format.json), written out here from the schema.
// It returns one line per problem.
func validateGitLab(b []byte) []string {
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	obj := func(where string, v any, required ...string) map[string]any {
		m, ok := v.(map[string]any)
		if !ok {
			bad("%s: not an object", where)
			return nil
		}
		for _, k := range required {
			if _, ok := m[k]; !ok {
				bad("%s: required %q missing", where, k)
			}
		}
		return m
	}
	str := func(where string, v any, minLen, maxLen int, pattern string) {
		s, ok := v.(string)
		switch {
		case !ok:
			bad("%s: not a string: %v", where, v)
		case len([]rune(s)) < minLen:
			bad("%s: shorter than %d", where, minLen)
		case maxLen > 0 && len([]rune(s)) > maxLen:
			bad("%s: longer than %d", where, maxLen)
		case pattern != "" && !regexp.MustCompile(pattern).MatchString(s):
			bad("%s: %q does not match %s", where, s, pattern)
		}
	}
	opt := func(m map[string]any, k string, check func(any)) {
		if v, ok := m[k]; ok {
			check(v)
		}
	}
	const (
		timePattern = `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$`
		urlPattern  = `^(https?|ftp)://.+`
	)
	top := obj("report", doc, "scan", "version", "vulnerabilities")
	str("version", top["version"], 0, 0, `^[0-9]+\.[0-9]+\.[0-9]+$`)
	scan := obj("scan", top["scan"], "analyzer", "end_time", "scanner", "start_time", "status", "type")
	for _, tool := range []string{"analyzer", "scanner"} {
		m := obj(tool, scan[tool], "id", "name", "version", "vendor")
		for _, k := range []string{"id", "name", "version"} {
			str(tool+"."+k, m[k], 1, 0, "")
		}
		str(tool+".vendor.name", obj(tool+".vendor", m["vendor"], "name")["name"], 1, 0, "")
	}
	opt(obj("analyzer", scan["analyzer"]), "url", func(v any) { str("analyzer.url", v, 0, 0, `^https?://.+`) })
	str("scan.start_time", scan["start_time"], 0, 0, timePattern)
	str("scan.end_time", scan["end_time"], 0, 0, timePattern)
	if !slices.Contains([]any{"success", "failure"}, scan["status"]) {
		bad("scan.status: %v", scan["status"])
	}
	if scan["type"] != "container_scanning" {
		bad("scan.type: %v", scan["type"])
	}
	vulns, ok := top["vulnerabilities"].([]any)
	if !ok {
		bad("vulnerabilities: not an array")
	}
	for i, item := range vulns {
		w := fmt.Sprintf("vulnerabilities[%d]", i)
		v := obj(w, item, "id", "identifiers", "location")
		str(w+".id", v["id"], 1, 0, "")
		opt(v, "name", func(x any) { str(w+".name", x, 0, 255, "") })
		opt(v, "description", func(x any) { str(w+".description", x, 0, 1048576, "") })
		opt(v, "solution", func(x any) { str(w+".solution", x, 0, 7000, "") })
		opt(v, "severity", func(x any) {
			if !slices.Contains([]any{"Info", "Unknown", "Low", "Medium", "High", "Critical"}, x) {
				bad("%s.severity: %v", w, x)
			}
		})
		ids, _ := v["identifiers"].([]any)
		if len(ids) < 1 {
			bad("%s.identifiers: want at least one", w)
		}
		for j, id := range ids {
			iw := fmt.Sprintf("%s.identifiers[%d]", w, j)
			m := obj(iw, id, "type", "name", "value")
			for _, k := range []string{"type", "name", "value"} {
				str(iw+"."+k, m[k], 1, 0, "")
			}
			opt(m, "url", func(x any) { str(iw+".url", x, 0, 0, urlPattern) })
		}
		links, _ := v["links"].([]any)
		for j, l := range links {
			lw := fmt.Sprintf("%s.links[%d]", w, j)
			str(lw+".url", obj(lw, l, "url")["url"], 0, 0, urlPattern)
		}
		loc := obj(w+".location", v["location"], "dependency", "operating_system", "image")
		dep := obj(w+".location.dependency", loc["dependency"], "package", "version")
		str(w+".location.dependency.package.name", obj(w+".location.dependency.package", dep["package"], "name")["name"], 0, 0, "")
		str(w+".location.dependency.version", dep["version"], 0, 0, "")
		str(w+".location.operating_system", loc["operating_system"], 1, 0, "")
		str(w+".location.image", loc["image"], 1, 0, "")
	}
	return problems
}

var (
	scanStart = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	scanEnd   = time.Date(2026, 12, 5, 10, 1, 30, 500, time.UTC)
)

func TestGitLabReportSchema(t *testing.T) {
	long := strings.Repeat("é", 300)
	tests := []struct {
		name     string
		findings []Finding
	}{
		{"no findings", nil},
		{"bare finding: no title, no OS, no fix, no URLs", []Finding{{Image: "r/app@sha256:aa", ID: "TEMP-0841856-B18BAF", Package: "perl", Installed: "5.36"}}},
		{"full finding", []Finding{{Image: "r/app@sha256:aa", Platform: "linux/amd64", OS: "debian 12.8", ID: "CVE-2024-0727",
			Package: "libssl3", Installed: "3.0.11-1", Fixed: "3.0.13-1", Severity: Medium, Title: "openssl: crash", Description: "long text",
			PrimaryURL: "https://avd.aquasec.com/nvd/cve-2024-0727", References: []string{"https://a.example/1", "CVE-2024-0727", "ftp://b.example/2", "https://a.example/1"}}}},
		{"long title, odd URL", []Finding{{Image: "r/app@sha256:aa", ID: "CVE-1", Package: "p", Installed: "1", Severity: Critical,
			Title: long, Fixed: strings.Repeat("1.2.3, ", 2000), PrimaryURL: "avd.aquasec.com/nvd/cve-1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := GitLabReport(tt.findings, "0.74.0", scanStart, scanEnd)
			if err != nil {
				t.Fatalf("GitLabReport: %v", err)
			}
			if problems := validateGitLab(b); len(problems) > 0 {
				t.Errorf("report breaks the schema:\n  %s\n%s", strings.Join(problems, "\n  "), b)
			}
		})
	}
}

// The validator itself must reject what breaks the schema.
func TestValidateGitLabCatches(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{}`, `report: required "scan" missing`},
		{`{"version":"15.0","scan":{},"vulnerabilities":[]}`, `version: "15.0" does not match`},
		{`{"version":"15.0.7","scan":{"analyzer":{"id":"a","name":"a","version":"1","vendor":{"name":"v"}},"scanner":{"id":"a","name":"a","version":"","vendor":{"name":"v"}},"type":"container_scanning","status":"success","start_time":"2026-12-05T10:00:00Z","end_time":"2026-12-05T10:00:00"},"vulnerabilities":[]}`, `scan.start_time: "2026-12-05T10:00:00Z" does not match`},
		{`{"version":"15.0.7","scan":{"analyzer":{"id":"a","name":"a","version":"1","vendor":{"name":"v"}},"scanner":{"id":"a","name":"a","version":"1","vendor":{"name":"v"}},"type":"container_scanning","status":"success","start_time":"2026-12-05T10:00:00","end_time":"2026-12-05T10:00:00"},"vulnerabilities":[{"id":"x","identifiers":[],"location":{"dependency":{"package":{"name":"p"},"version":"1"},"operating_system":"","image":"i"}}]}`, `vulnerabilities[0].identifiers: want at least one`},
	}
	for _, tt := range tests {
		problems := validateGitLab([]byte(tt.in))
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, tt.want) }) {
			t.Errorf("validateGitLab(%s) = %q, want a problem %q", tt.in, problems, tt.want)
		}
	}
}

func TestGitLabReportContent(t *testing.T) {
	f := Finding{Image: "r/app@sha256:aa", Platform: "linux/amd64", Target: "os", OS: "debian 12.8", ID: "CVE-2024-0727",
		Package: "libssl3", Installed: "3.0.11-1", Fixed: "3.0.13-1", Severity: Medium, Title: "openssl: crash", Description: "long text",
		PrimaryURL: "https://avd.aquasec.com/nvd/cve-2024-0727", References: []string{"https://a.example/1", "CVE-2024-0727", "ftp://b.example/2", "https://a.example/1"}}
	b, err := GitLabReport([]Finding{f, f}, "0.74.0", scanStart.In(time.FixedZone("CET", 3600)), scanEnd)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeJSON(t, b).(map[string]any)
	vulns := got["vulnerabilities"].([]any)
	if len(vulns) != 1 {
		t.Fatalf("the same finding twice gave %d vulnerabilities, want 1", len(vulns))
	}
	v := vulns[0].(map[string]any)
	delete(v, "id")
	trivy := map[string]any{"id": "trivy", "name": "Trivy", "url": "https://github.com/aquasecurity/trivy/", "version": "0.74.0", "vendor": map[string]any{"name": "Aqua Security"}}
	want := map[string]any{
		"version": "15.0.7",
		"scan": map[string]any{"analyzer": trivy, "scanner": trivy, "type": "container_scanning", "status": "success",
			"start_time": "2026-12-05T10:00:00", "end_time": "2026-12-05T10:01:30"},
		"vulnerabilities": []any{map[string]any{
			"name": "openssl: crash", "description": "long text", "severity": "Medium", "solution": "Upgrade libssl3 to 3.0.13-1.",
			"location": map[string]any{"dependency": map[string]any{"package": map[string]any{"name": "libssl3"}, "version": "3.0.11-1"},
				"operating_system": "debian 12.8", "image": "r/app@sha256:aa"},
			"identifiers": []any{map[string]any{"type": "cve", "name": "CVE-2024-0727", "value": "CVE-2024-0727", "url": "https://avd.aquasec.com/nvd/cve-2024-0727"}},
			"links":       []any{map[string]any{"url": "https://a.example/1"}, map[string]any{"url": "ftp://b.example/2"}},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GitLabReport (-want +got):\n%s", diff)
	}
}

func TestGitLabReportIDs(t *testing.T) {
	base := Finding{Image: "r/app@sha256:aa", Platform: "linux/amd64", Target: "os", ID: "CVE-1", Package: "p", Installed: "1", Severity: High}
	variants := map[string]func(*Finding){
		"image":    func(f *Finding) { f.Image = "r/app@sha256:bb" },
		"platform": func(f *Finding) { f.Platform = "linux/arm64" },
		"target":   func(f *Finding) { f.Target = "usr/bin/x" },
		"pkg path": func(f *Finding) { f.PkgPath = "opt/x.jar" },
		"package":  func(f *Finding) { f.Package = "q" },
		"advisory": func(f *Finding) { f.ID = "CVE-2" },
	}
	idOf := func(f Finding) string {
		b, err := GitLabReport([]Finding{f}, "0.74.0", scanStart, scanEnd)
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ Vulnerabilities []struct{ ID string } }
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r.Vulnerabilities[0].ID
	}
	id := idOf(base)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("id %q is not a version 8 UUID", id)
	}
	if again := idOf(base); again != id {
		t.Errorf("the same finding got ids %s and %s", id, again)
	}
	later := base
	later.Installed, later.Severity, later.Title = "2", Critical, "new title"
	if other := idOf(later); other != id {
		t.Errorf("a new version or rating of the same finding changed its id: %s, then %s", id, other)
	}
	for name, change := range variants {
		f := base
		change(&f)
		if idOf(f) == id {
			t.Errorf("another %s kept the id %s", name, id)
		}
	}
}

func TestGitLabReportRefuses(t *testing.T) {
	ok := []Finding{{Image: "i", ID: "CVE-1", Package: "p"}}
	tests := []struct {
		name       string
		findings   []Finding
		version    string
		start, end time.Time
		want       string
	}{
		{"no version", ok, "", scanStart, scanEnd, "GitLab report: no scanner version: pass trivy's version, e.g. 0.74.0"},
		{"ends first", ok, "0.74.0", scanEnd, scanStart, "GitLab report: the scan ends (2026-12-05T10:00:00Z) before it starts (2026-12-05T10:01:30Z)"},
		{"no image", []Finding{{ID: "CVE-1", Package: "p"}}, "0.74.0", scanStart, scanEnd,
			"GitLab report: CVE-1 in p has no image: set each finding's Image to the scanned image by digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := GitLabReport(tt.findings, tt.version, tt.start, tt.end)
			if err == nil {
				t.Fatal("GitLabReport succeeded")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("GitLabReport error (-want +got):\n%s", diff)
			}
		})
	}
}
