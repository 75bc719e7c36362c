package scan

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSeverity(t *testing.T) {
	tests := []struct {
		in   string
		want Severity
	}{
		{"critical", Critical}, {"CRITICAL", Critical}, {"High", High}, {"medium", Medium},
		{"low", Low}, {"unknown", Unknown}, {"UNKNOWN", Unknown},
	}
	for _, tt := range tests {
		got, err := ParseSeverity(tt.in)
		if err != nil {
			t.Fatalf("ParseSeverity(%q): %v", tt.in, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseSeverity(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	for _, bad := range []string{"", "severe", " high", "info", "negligible"} {
		_, err := ParseSeverity(bad)
		if !errors.Is(err, ErrBadSeverity) {
			t.Errorf("ParseSeverity(%q) error = %v, want ErrBadSeverity", bad, err)
			continue
		}
		want := `unknown severity "` + bad + `" for --fail-on: use one of critical, high, medium, low, unknown`
		if diff := cmp.Diff(want, err.Error()); diff != "" {
			t.Errorf("ParseSeverity(%q) message (-want +got):\n%s", bad, diff)
		}
	}
}

func TestSeverityOrder(t *testing.T) {
	// trivy's order, least to most severe (trivy-db pkg/types SeverityNames)
	order := []string{"unknown", "low", "medium", "high", "critical"}
	for i := 1; i < len(order); i++ {
		lo, _ := ParseSeverity(order[i-1])
		hi, _ := ParseSeverity(order[i])
		if !(lo < hi) {
			t.Errorf("%s (%d) is not below %s (%d)", order[i-1], lo, order[i], hi)
		}
	}
	for _, name := range order {
		s, _ := ParseSeverity(name)
		if got, want := s.String(), map[string]string{"unknown": "UNKNOWN", "low": "LOW", "medium": "MEDIUM", "high": "HIGH", "critical": "CRITICAL"}[name]; got != want {
			t.Errorf("%s.String() = %q, want %q", name, got, want)
		}
	}
}
