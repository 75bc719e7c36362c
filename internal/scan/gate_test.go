package scan

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGate(t *testing.T) {
	now := day("2026-12-05")
	const (
		amd = "linux/amd64"
		arm = "linux/arm64"
		img = "r.example/app@sha256:aa"
	)
	ssl := Finding{Image: img, Platform: amd, Target: "os", ID: "CVE-2024-0727", Package: "libssl3", Installed: "3.0.11-1", Fixed: "3.0.13-1", Severity: High}
	sslArm := ssl
	sslArm.Platform = arm
	zlib := Finding{Image: img, Platform: amd, Target: "os", ID: "CVE-2023-45853", Package: "zlib1g", Installed: "1:1.2.13", Severity: Critical}
	low := Finding{Image: img, Platform: amd, Target: "os", ID: "CVE-2011-1", Package: "tar", Installed: "1.34", Severity: Low}
	unknown := Finding{Image: img, Platform: amd, Target: "os", ID: "TEMP-1", Package: "perl", Installed: "5.36", Severity: Unknown}
	all := []Finding{low, sslArm, unknown, ssl, zlib}

	ignoreZlib := IgnoreEntry{ID: "CVE-2023-45853", Statement: "minizip is not shipped", Position: 1, Line: 2}
	expiredSSL := IgnoreEntry{ID: "CVE-2024-0727", Statement: "no PKCS12 input", ExpiredAt: day("2026-01-01"), Position: 2, Line: 4}
	ignoreSSLOS := IgnoreEntry{ID: "CVE-2024-0727", Paths: []string{"os"}, PURLs: nil, Statement: "PKCS12 never parsed", Position: 3, Line: 7}
	futureTar := IgnoreEntry{ID: "CVE-2011-1", Statement: "old", ExpiredAt: day("2027-01-01"), Position: 4, Line: 9}

	tests := []struct {
		name      string
		threshold Severity
		ignores   []IgnoreEntry
		want      Verdict
	}{
		{"high blocks high and critical", High, nil, Verdict{Threshold: High,
			Blocking: []Finding{zlib, ssl, sslArm}, Below: []Finding{low, unknown}}},
		{"critical blocks only critical", Critical, nil, Verdict{Threshold: Critical,
			Blocking: []Finding{zlib}, Below: []Finding{ssl, low, unknown, sslArm}}},
		{"unknown blocks everything", Unknown, nil, Verdict{Threshold: Unknown,
			Blocking: []Finding{zlib, ssl, low, unknown, sslArm}}},
		{"ignored whatever the severity; unexpired entry applies", High, []IgnoreEntry{ignoreZlib, futureTar}, Verdict{Threshold: High,
			Blocking: []Finding{ssl, sslArm}, Below: []Finding{unknown},
			Ignored: []Ignored{{zlib, ignoreZlib}, {low, futureTar}}}},
		{"expired entry ignores nothing", High, []IgnoreEntry{expiredSSL}, Verdict{Threshold: High,
			Blocking: []Finding{zlib, ssl, sslArm}, Below: []Finding{low, unknown}, Expired: []IgnoreEntry{expiredSSL}}},
		{"first unexpired match wins", High, []IgnoreEntry{expiredSSL, ignoreSSLOS, ignoreZlib}, Verdict{Threshold: High,
			Below: []Finding{low, unknown}, Expired: []IgnoreEntry{expiredSSL},
			Ignored: []Ignored{{zlib, ignoreZlib}, {ssl, ignoreSSLOS}, {sslArm, ignoreSSLOS}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Gate(all, tt.threshold, tt.ignores, now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Gate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerdictErr(t *testing.T) {
	const img = "r.example/app@sha256:aa"
	ssl := Finding{Image: img, Platform: "linux/amd64", Target: "os", ID: "CVE-2024-0727", Package: "libssl3", Installed: "3.0.11-1", Fixed: "3.0.13-1", Severity: High}
	zlib := Finding{Image: img, Platform: "linux/amd64", Target: "os", ID: "CVE-2023-45853", Package: "zlib1g", Installed: "1:1.2.13", Severity: Critical}
	net := Finding{Image: "r.example/app@sha256:bb", Platform: "linux/arm64", Target: "usr/local/bin/app", PkgPath: "usr/local/bin/app",
		ID: "GHSA-xxxx", Package: "golang.org/x/net", Installed: "v0.20.0", Fixed: "0.23.0", Severity: High}
	netTwice := net
	netTwice.Target = "usr/local/bin/app (again)"
	expired := IgnoreEntry{ID: "CVE-2024-0727", Statement: "no PKCS12 input", ExpiredAt: day("2026-01-01"), Position: 1, Line: 2}
	const todo = "\nupgrade the packages (or rebuild on a fixed base image), accept a finding in .trivyignore.yaml with its id and a statement, or change the threshold with --fail-on"

	tests := []struct {
		name     string
		findings []Finding
		ignores  []IgnoreEntry
		want     string // "" for nil
	}{
		{"nothing blocks", []Finding{{Image: img, ID: "CVE-1", Package: "tar", Severity: Low}}, nil, ""},
		{"no findings", nil, nil, ""},
		{"every blocking finding, most severe first, duplicates once", []Finding{net, ssl, netTwice, zlib}, []IgnoreEntry{expired},
			"vulnerabilities block the release: 3 findings at or above HIGH:\n" +
				"  r.example/app@sha256:aa [linux/amd64]: zlib1g 1:1.2.13 (no fix yet): CVE-2023-45853 CRITICAL\n" +
				"  r.example/app@sha256:aa [linux/amd64]: libssl3 3.0.11-1 (fixed in 3.0.13-1): CVE-2024-0727 HIGH; its ignore entry expired on 2026-01-01\n" +
				"  r.example/app@sha256:bb [linux/arm64]: golang.org/x/net (usr/local/bin/app) v0.20.0 (fixed in 0.23.0): GHSA-xxxx HIGH" + todo},
		{"one finding", []Finding{zlib}, nil,
			"vulnerabilities block the release: 1 finding at or above HIGH:\n" +
				"  r.example/app@sha256:aa [linux/amd64]: zlib1g 1:1.2.13 (no fix yet): CVE-2023-45853 CRITICAL" + todo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Gate(tt.findings, High, tt.ignores, day("2026-12-05")).Err()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Err() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrBlocked) {
				t.Fatalf("Err() = %v, want ErrBlocked", err)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("Err() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerdictNotesAndOpen(t *testing.T) {
	a := Finding{Image: "i", Platform: "p", ID: "CVE-2", Package: "a", Installed: "1", Severity: High}
	b := Finding{Image: "i", Platform: "p", ID: "CVE-3", Package: "b", Installed: "2", Fixed: "3", Severity: Low}
	c := Finding{Image: "i", Platform: "p", ID: "CVE-1", Package: "c", Installed: "1", Severity: Critical}
	ignores := []IgnoreEntry{
		{ID: "CVE-1", Statement: "not reachable", Position: 1, Line: 2},
		{ID: "CVE-9", Statement: "old", ExpiredAt: day("2026-01-01"), Position: 2, Line: 4},
	}
	v := Gate([]Finding{b, c, a}, Medium, ignores, day("2026-06-01").Add(time.Hour))
	wantNotes := []string{
		"ignore entry CVE-9 expired on 2026-01-01 and no longer applies (entry 2, line 4)",
		"ignored i [p]: c 1 (no fix yet): CVE-1 CRITICAL: not reachable",
	}
	if diff := cmp.Diff(wantNotes, v.Notes()); diff != "" {
		t.Errorf("Notes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Finding{a, b}, v.Open()); diff != "" {
		t.Errorf("Open (-want +got):\n%s", diff)
	}
}
