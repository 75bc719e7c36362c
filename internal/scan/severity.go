package scan

import (
	"errors"
	"fmt"
	"strings"
)

// Severity is trivy's severity of an advisory, ordered: Unknown < Low < Medium < High < Critical.
type Severity int

const (
	// Unknown is an advisory no vendor rated.
	Unknown Severity = iota
	// Low is trivy's LOW.
	Low
	// Medium is trivy's MEDIUM.
	Medium
	// High is trivy's HIGH.
	High
	// Critical is trivy's CRITICAL.
	Critical
)

// severityNames are trivy's spellings (trivy-db pkg/types SeverityNames), indexed by Severity.
var severityNames = [...]string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// ErrBadSeverity is wrapped when a threshold is not one of the accepted severities.
var ErrBadSeverity = errors.New("unknown severity")

// String is trivy's spelling, e.g. "HIGH".
func (s Severity) String() string {
	if s < Unknown || s > Critical {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// severityOf reads a severity in any letter case.
func severityOf(s string) (Severity, bool) {
	for i, name := range severityNames {
		if strings.EqualFold(s, name) {
			return Severity(i), true
		}
	}
	return Unknown, false
}

// acceptedSeverities lists the words ParseSeverity accepts, most severe first.
func acceptedSeverities() string {
	words := make([]string, 0, len(severityNames))
	for s := Critical; s >= Unknown; s-- {
		words = append(words, strings.ToLower(s.String()))
	}
	return strings.Join(words, ", ")
}

// ParseSeverity reads the --fail-on threshold: critical, high, medium, low or unknown, in any
// letter case; anything else is an error wrapping ErrBadSeverity.
func ParseSeverity(s string) (Severity, error) {
	if sev, ok := severityOf(s); ok {
		return sev, nil
	}
	return Unknown, fmt.Errorf("%w %q for --fail-on: use one of %s", ErrBadSeverity, s, acceptedSeverities())
}
