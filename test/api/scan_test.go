//go:build full

package api

import (
	"strings"
	"testing"

	"shipyard/internal/scan"
)

// TestScanDefaults: the vulnerability gate's trivy version and defaults have one definition in
// internal/scan; the test tools' build, the tests, the docs' tables and the module's argument docs
// repeat them.
func TestScanDefaults(t *testing.T) {
	version := goDefault{"scan.TrivyVersion", scan.TrivyVersion}
	failOn := goDefault{"scan.DefaultFailOn", strings.ToLower(scan.DefaultFailOn.String())}
	maxAge := goDefault{"scan.DefaultMaxDBAge", scan.DefaultMaxDBAge}
	image := goDefault{"scan.DefaultScannerImage", scan.DefaultScannerImage}
	ignore := goDefault{"scan.DefaultIgnoreFile", scan.DefaultIgnoreFile}
	row := func(name string) string { return "(?m)^\\| `" + name + "` \\| \\w+ \\| `([^`]*)` \\|" }
	readme := func(flag string) string { return "(?m)^\\| `with-scan` \\|.*`--" + flag + "` \\(default `([^`]*)`\\)" }
	arg := func(what string) string {
		return `\(default ([^ ,)]+)[,)][^\n]*\n(?:\s*// \+optional\n)?\s*` + what + ` string`
	}
	for _, c := range []copyOf{
		{file: "hack/setup-test-deps", what: "TRIVY_VERSION", re: `(?m)^TRIVY_VERSION=v(\S+)$`, want: version},
		{file: "test/scan/db_test.go", what: "trivyVersion", re: `const trivyVersion = "([^"]+)"`, want: version},
		{file: "docs/gitlab-ci.md", what: "SHIPYARD_SCAN_FAIL_ON's default", re: row("SHIPYARD_SCAN_FAIL_ON"), want: failOn},
		{file: "docs/gitlab-ci.md", what: "SHIPYARD_SCAN_MAX_DB_AGE's default", re: row("SHIPYARD_SCAN_MAX_DB_AGE"), want: maxAge},
		{file: "README.md", what: "with-scan --fail-on's default", re: readme("fail-on"), want: failOn},
		{file: "README.md", what: "with-scan --max-db-age's default", re: readme("max-db-age"), want: maxAge},
		{file: "README.md", what: "with-scan --ignore-file's default", re: readme("ignore-file"), want: ignore},
		{file: "README.md", what: "with-scan --scanner-image's default", re: readme("scanner-image"), want: image},
		{file: "ci/scan.go", what: "WithScan failOn's documented default", re: arg("failOn"), want: failOn},
		{file: "ci/scan.go", what: "WithScan maxDbAge's documented default", re: arg("maxDbAge"), want: maxAge},
		{file: "ci/scan.go", what: "WithScan ignoreFile's documented default", re: arg("ignoreFile"), want: ignore},
		{file: "ci/scan.go", what: "WithScan scannerImage's documented default", re: arg("scannerImage"), want: image},
	} {
		c.check(t)
	}
}
