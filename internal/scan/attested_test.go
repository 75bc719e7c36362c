package scan

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVerdictParameters(t *testing.T) {
	const (
		img   = "r.example/app@sha256:aa"
		other = "r.example/app@sha256:bb"
	)
	zlib := Finding{Image: img, Platform: "linux/amd64", ID: "CVE-2023-45853", Package: "zlib1g", Installed: "1:1.2.13", Severity: Critical}
	zlibArm, zlibOther := zlib, zlib
	zlibArm.Platform = "linux/arm64"
	zlibOther.Image = other
	entry := IgnoreEntry{ID: "CVE-2023-45853", Statement: "minizip is not shipped"}
	v := Verdict{Threshold: High, Ignored: []Ignored{{zlib, entry}, {zlib, entry}, {zlibArm, entry}, {zlibOther, entry}}}
	want := GateParameters{FailOn: "HIGH", Platform: "linux/amd64",
		Accepted: []AcceptedFinding{{ID: "CVE-2023-45853", Package: "zlib1g", Installed: "1:1.2.13", Statement: "minizip is not shipped"}}}
	if diff := cmp.Diff(want, v.Parameters(img, "linux/amd64")); diff != "" {
		t.Errorf("Parameters (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(v.Parameters(img, "linux/s390x"))
	if err != nil || string(b) != `{"fail-on":"HIGH","platform":"linux/s390x"}` {
		t.Errorf("Parameters of a platform with nothing accepted = %s, %v", b, err)
	}
}

// predicate is the gate's predicate of testdata/trivy-report.json (CVE-2024-0727 MEDIUM,
// CVE-2023-45853 CRITICAL on zlib1g, GHSA-xxxx-yyyy-zzzz HIGH) with parameters params.
func predicate(t *testing.T, params any) CosignVulnPredicate {
	t.Helper()
	report, err := os.ReadFile("testdata/trivy-report.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := VulnPredicate(VulnInput{Report: report, ScannerVersion: TrivyVersion, Invocation: Invocation{Parameters: params}, Start: scanStart, Finish: scanEnd})
	if err != nil {
		t.Fatal(err)
	}
	// as a verifier reads it: through JSON
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseVulnPredicate(b)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRecheck(t *testing.T) {
	zlib := AcceptedFinding{ID: "CVE-2023-45853", Package: "zlib1g", Installed: "1:1.2.13.dfsg-1", Statement: "minizip is not shipped"}
	zlibOtherVersion := zlib
	zlibOtherVersion.Installed = "1:1.2.13.dfsg-2"
	gate := func(failOn string, accepted ...AcceptedFinding) GateParameters {
		return GateParameters{FailOn: failOn, Platform: "linux/amd64", Accepted: accepted}
	}
	const zlibLine = "zlib1g 1:1.2.13.dfsg-1 (no fix yet): CVE-2023-45853 CRITICAL"
	tests := []struct {
		name      string
		params    any
		threshold Severity
		says      []string // nil: passes
		not       []string
	}{
		{"gate's threshold, critical accepted", gate("CRITICAL", zlib), Critical, nil, nil},
		{"stricter: the HIGH finding was below the gate", gate("CRITICAL", zlib), High,
			[]string{"the attested scan does not pass at HIGH: 1 finding in the report the gate at CRITICAL passed (scanned 2026-12-05 10:01 UTC) at or above HIGH, not accepted:",
				"golang.org/x/net v0.20.0", "GHSA-xxxx-yyyy-zzzz HIGH", "with-scan --fail-on=high"},
			[]string{"zlib1g"}},
		{"medium: two open", gate("CRITICAL", zlib), Medium, []string{"2 findings", "CVE-2024-0727 MEDIUM", "GHSA-xxxx-yyyy-zzzz HIGH"}, []string{"zlib1g"}},
		{"laxer than the gate passes", gate("HIGH", zlib), Critical, nil, nil},
		{"accepted finding of another version does not cover this one", gate("CRITICAL", zlibOtherVersion), Critical, []string{zlibLine}, nil},
		{"another tool's parameters accept nothing", map[string]string{"scanner": "x"}, Critical, []string{"a gate of unknown threshold", zlibLine}, nil},
		{"no parameters", nil, Critical, []string{zlibLine}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Recheck(predicate(t, tt.params), tt.threshold)
			if tt.says == nil {
				if err != nil {
					t.Fatalf("Recheck = %v, want nil", err)
				}
				return
			}
			wantError(t, err, ErrAttestedBlocked, tt.says...)
			for _, s := range tt.not {
				if err != nil && strings.Contains(err.Error(), s) {
					t.Errorf("Recheck says %q:\n%v", s, err)
				}
			}
		})
	}
}

func TestRecheckRefusesAnotherReport(t *testing.T) {
	p := predicate(t, nil)
	p.Scanner.Result = json.RawMessage(`{"SchemaVersion": 1}`)
	wantError(t, Recheck(p, Critical), ErrAttestedBlocked, "the attested report", "SchemaVersion 1")
}
