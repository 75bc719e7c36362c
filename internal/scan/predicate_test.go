package scan

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestVulnPredicate(t *testing.T) {
	report, err := os.ReadFile("testdata/trivy-report.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := VulnPredicate(VulnInput{
		Report:         report,
		ScannerVersion: "0.74.0",
		DB:             ScannerDB{URI: "registry.example.com/trivy-db:2", Version: "sha256:dbdb"},
		Invocation: Invocation{Parameters: map[string]string{"fail-on": "high", "platform": "linux/amd64"},
			URI: "https://gitlab.example.com/group/app/-/jobs/42", EventID: "1234", BuilderID: "shipyard"},
		Start:  scanStart.In(time.FixedZone("CET", 3600)),
		Finish: scanEnd,
	})
	if err != nil {
		t.Fatalf("VulnPredicate: %v", err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	// The JSON names of cosign v3.1.3's CosignVulnPredicate (pkg/cosign/attestation).
	got, result := decodeJSON(t, b), decodeJSON(t, report)
	want := map[string]any{
		"invocation": map[string]any{
			"parameters": map[string]any{"fail-on": "high", "platform": "linux/amd64"},
			"uri":        "https://gitlab.example.com/group/app/-/jobs/42", "event_id": "1234", "builder.id": "shipyard",
		},
		"scanner": map[string]any{
			"uri": "pkg:github/aquasecurity/trivy@0.74.0", "version": "0.74.0",
			"db":     map[string]any{"uri": "registry.example.com/trivy-db:2", "version": "sha256:dbdb"},
			"result": result,
		},
		"metadata": map[string]any{"scanStartedOn": "2026-12-05T10:00:00Z", "scanFinishedOn": "2026-12-05T10:01:30.0000005Z"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VulnPredicate JSON (-want +got):\n%s", diff)
	}
}

func TestVulnPredicateRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   VulnInput
		want []string
	}{
		{"table output", VulnInput{Report: []byte("Total: 3 (HIGH: 3)"), ScannerVersion: "0.74.0"},
			[]string{"the report is not JSON: pass trivy's --format json output"}},
		{"nothing", VulnInput{}, []string{"the report is not JSON", "no scanner version: pass trivy's version"}},
		{"finishes first", VulnInput{Report: []byte(`{}`), ScannerVersion: "0.74.0", Start: scanEnd, Finish: scanStart},
			[]string{"the scan finishes (2026-12-05T10:00:00Z) before it starts (2026-12-05T10:01:30Z)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VulnPredicate(tt.in)
			wantError(t, err, nil, tt.want...)
		})
	}
}
