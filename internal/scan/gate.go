package scan

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrBlocked is wrapped by Verdict.Err when findings block the release.
var ErrBlocked = errors.New("vulnerabilities block the release")

// Ignored is a finding an ignore entry accepts.
type Ignored struct {
	// Finding is what was ignored.
	Finding Finding
	// Entry is the first unexpired entry that matches it.
	Entry IgnoreEntry
}

// Verdict is the gate's decision on a set of findings; every list is sorted.
type Verdict struct {
	// Threshold is the lowest severity that blocks.
	Threshold Severity
	// Blocking are the findings at or above Threshold that no unexpired entry ignores.
	Blocking []Finding
	// Below are the findings under Threshold that no unexpired entry ignores.
	Below []Finding
	// Ignored are the findings an unexpired entry ignores, whatever their severity.
	Ignored []Ignored
	// Expired are the entries whose expired_at is before now; they ignore nothing.
	Expired []IgnoreEntry
}

// Gate decides which findings block a release at threshold, given the ignore entries at now.
func Gate(findings []Finding, threshold Severity, ignores []IgnoreEntry, now time.Time) Verdict {
	v := Verdict{Threshold: threshold}
	var active []IgnoreEntry
	for _, e := range ignores {
		if e.Expired(now) {
			v.Expired = append(v.Expired, e)
		} else {
			active = append(active, e)
		}
	}
	for _, f := range findings {
		if i := slices.IndexFunc(active, func(e IgnoreEntry) bool { return e.Matches(f) }); i >= 0 {
			v.Ignored = append(v.Ignored, Ignored{Finding: f, Entry: active[i]})
		} else if f.Severity >= threshold {
			v.Blocking = append(v.Blocking, f)
		} else {
			v.Below = append(v.Below, f)
		}
	}
	v.Blocking, v.Below = sortFindings(v.Blocking), sortFindings(v.Below)
	slices.SortStableFunc(v.Ignored, func(a, b Ignored) int { return compareFindings(a.Finding, b.Finding) })
	slices.SortStableFunc(v.Expired, func(a, b IgnoreEntry) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Position, b.Position))
	})
	return v
}

// Open are the findings no unexpired entry ignores (Blocking, then Below): what a security
// report lists.
func (v Verdict) Open() []Finding {
	return sortFindings(slices.Concat(v.Blocking, v.Below))
}

// Notes are one line per expired entry and per ignored finding, for the job log.
func (v Verdict) Notes() []string {
	var notes []string
	for _, e := range v.Expired {
		notes = append(notes, fmt.Sprintf("ignore entry %s expired on %s and no longer applies (entry %d, line %d)",
			e.ID, e.ExpiredAt.UTC().Format(time.DateOnly), e.Position, e.Line))
	}
	for _, ig := range v.Ignored {
		notes = append(notes, fmt.Sprintf("ignored %s: %s", describe(ig.Finding), ig.Entry.Statement))
	}
	return notes
}

// Err is nil when nothing blocks; otherwise one error wrapping ErrBlocked that names every
// blocking finding, one per line, and what to do.
func (v Verdict) Err() error {
	if len(v.Blocking) == 0 {
		return nil
	}
	var lines []string
	seen := map[string]bool{}
	for _, f := range v.Blocking {
		line := describe(f)
		if i := slices.IndexFunc(v.Expired, func(e IgnoreEntry) bool { return e.Matches(f) }); i >= 0 {
			line += fmt.Sprintf("; its ignore entry expired on %s", v.Expired[i].ExpiredAt.UTC().Format(time.DateOnly))
		}
		if !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	return fmt.Errorf("%w: %s at or above %s:\n  %s\nupgrade the packages (or rebuild on a fixed base image), accept a finding in .trivyignore.yaml with its id and a statement, or change the threshold with --fail-on",
		ErrBlocked, plural(len(lines), "finding"), v.Threshold, strings.Join(lines, "\n  "))
}

// describe names a finding on one line: where, which package, which versions, which advisory.
func describe(f Finding) string {
	where := f.Image
	if f.Platform != "" {
		where += " [" + f.Platform + "]"
	}
	return where + ": " + describePackage(f)
}

// describePackage names a finding's package, versions and advisory on one line.
func describePackage(f Finding) string {
	fixed := "no fix yet"
	if f.Fixed != "" {
		fixed = "fixed in " + f.Fixed
	}
	pkg := f.Package
	if f.PkgPath != "" {
		pkg += " (" + f.PkgPath + ")"
	}
	return fmt.Sprintf("%s %s (%s): %s %s", pkg, f.Installed, fixed, f.ID, f.Severity)
}
