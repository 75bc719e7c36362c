package scan

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrBadIgnore is wrapped when the ignore file cannot be used.
var ErrBadIgnore = errors.New("bad ignore file")

// IgnoreEntry is one entry of the ignore file's `vulnerabilities:` list, in trivy's format
// (pkg/result.IgnoreFinding).
type IgnoreEntry struct {
	// ID is the advisory to ignore, e.g. "CVE-2024-0727".
	ID string
	// Paths, when set, limit the entry to findings whose target or package path matches one of
	// these patterns (`*` within a path segment, `**` across segments).
	Paths []string
	// PURLs, when set, limit the entry to findings whose package matches one of these package
	// URLs; a PURL without version matches every version.
	PURLs []string
	// Statement says why the finding is accepted; this gate requires it.
	Statement string
	// ExpiredAt, when set, is when the entry stops applying.
	ExpiredAt time.Time
	// Position is the entry's place in the list, from 1.
	Position int
	// Line is the entry's line in the file.
	Line int
}

// Expired says whether the entry no longer applies at now; like trivy, an entry expires at the
// start (00:00 UTC) of its expired_at date.
func (e IgnoreEntry) Expired(now time.Time) bool {
	return !e.ExpiredAt.IsZero() && e.ExpiredAt.Before(now)
}

// String names the entry for messages, e.g. "CVE-2024-0727 (entry 2, line 7)".
func (e IgnoreEntry) String() string {
	return fmt.Sprintf("%s (entry %d, line %d)", e.ID, e.Position, e.Line)
}

// Matches says whether the entry covers f, as trivy matches it: the same advisory; when Paths
// are set, f's target or package path matches one; when PURLs are set and f has a package
// URL, that package matches one.
func (e IgnoreEntry) Matches(f Finding) bool {
	if e.ID != f.ID {
		return false
	}
	if len(e.Paths) > 0 && !slices.ContainsFunc(e.Paths, func(p string) bool {
		return matchPath(p, f.Target) || matchPath(p, f.PkgPath)
	}) {
		return false
	}
	if len(e.PURLs) == 0 || f.PURL == "" {
		return true
	}
	target, err := parsePURL(f.PURL)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(e.PURLs, func(s string) bool {
		p, err := parsePURL(s)
		return err == nil && p.covers(target)
	})
}

// ignoreSections are the top-level keys of trivy's ignore file; only vulnerabilities concern
// an image's packages, the others are accepted and left to trivy.
var ignoreSections = []string{"vulnerabilities", "misconfigurations", "secrets", "licenses"}

// entryKeys are the keys of an entry in trivy's ignore file.
var entryKeys = []string{"id", "paths", "purls", "statement", "expired_at"}

// ParseIgnore reads trivy's YAML ignore file (.trivyignore.yaml) and returns its vulnerabilities
// entries. Beyond trivy's rules, every entry needs an id and a statement, and keys trivy does
// not know are refused: a misspelt expired_at would otherwise ignore a finding forever. Every
// problem found is reported, each naming the entry's id and position. Empty input has no
// entries.
func ParseIgnore(b []byte) ([]IgnoreEntry, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadIgnore, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: line %d: want a mapping with a vulnerabilities: list (trivy's .trivyignore.yaml format)", ErrBadIgnore, root.Line)
	}
	var (
		entries []IgnoreEntry
		errs    []error
	)
	for k, v := range pairs(root) {
		switch {
		case !slices.Contains(ignoreSections, k.Value):
			errs = append(errs, fmt.Errorf("%w: line %d: unknown key %q: use %s", ErrBadIgnore, k.Line, k.Value, strings.Join(ignoreSections, ", ")))
		case k.Value != "vulnerabilities" || v.Tag == "!!null":
		case v.Kind != yaml.SequenceNode:
			errs = append(errs, fmt.Errorf("%w: line %d: vulnerabilities must be a list of entries", ErrBadIgnore, v.Line))
		default:
			for i, item := range v.Content {
				e, err := parseEntry(item, i+1)
				entries = append(entries, e)
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return entries, nil
}

// pairs yields a mapping node's keys with their values.
func pairs(m *yaml.Node) func(yield func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if !yield(m.Content[i], m.Content[i+1]) {
				return
			}
		}
	}
}

// parseEntry reads one vulnerabilities entry at position pos (from 1), decoding each field as
// trivy does (yaml.v3 into its IgnoreFinding fields), and checks our rules.
func parseEntry(n *yaml.Node, pos int) (IgnoreEntry, error) {
	e := IgnoreEntry{Position: pos, Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return e, fmt.Errorf("%w: vulnerabilities entry %d (line %d) is not a mapping: write id:, statement: and the optional paths:, purls:, expired_at:", ErrBadIgnore, pos, n.Line)
	}
	var errs []error
	for k, v := range pairs(n) {
		var err error
		switch k.Value {
		case "id":
			err = v.Decode(&e.ID)
		case "paths":
			err = v.Decode(&e.Paths)
		case "purls":
			err = v.Decode(&e.PURLs)
		case "statement":
			err = v.Decode(&e.Statement)
		case "expired_at":
			if err = v.Decode(&e.ExpiredAt); err != nil {
				err = fmt.Errorf("%w: write the date unquoted as YYYY-MM-DD, e.g. expired_at: 2026-01-01", err)
			}
		default:
			err = fmt.Errorf("unknown key %q: use %s", k.Value, strings.Join(entryKeys, ", "))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %s: %w", k.Line, k.Value, err))
		}
	}
	if strings.TrimSpace(e.ID) == "" {
		errs = append(errs, errors.New("no id: add `id:` with the advisory, e.g. CVE-2024-0727"))
	}
	if strings.TrimSpace(e.Statement) == "" {
		errs = append(errs, errors.New("no statement: add `statement:` saying why the finding is accepted"))
	}
	for _, p := range e.Paths {
		if err := validatePattern(p); err != nil {
			errs = append(errs, fmt.Errorf("paths: %w", err))
		}
	}
	for _, s := range e.PURLs {
		if _, err := parsePURL(s); err != nil {
			errs = append(errs, fmt.Errorf("purls: %w", err))
		}
	}
	for i, err := range errs {
		errs[i] = fmt.Errorf("%w: vulnerabilities entry %d (id %q, line %d): %w", ErrBadIgnore, pos, e.ID, n.Line, err)
	}
	return e, errors.Join(errs...)
}
