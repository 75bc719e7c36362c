package bake

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Sentinel errors; every error returned by this package wraps exactly one of them (test with errors.Is).
var (
	// ErrSyntax means the file is not valid HCL native syntax.
	ErrSyntax = errors.New("HCL syntax error")
	// ErrInvalid means the file is valid HCL but not a valid bake file (wrong attribute, wrong type, bad name).
	ErrInvalid = errors.New("invalid bake file")
	// ErrUnsupported means the file uses a bake feature this package deliberately does not implement.
	ErrUnsupported = errors.New("unsupported bake feature")
	// ErrUnknownVariable means an expression or override names a variable that no variable block declares.
	ErrUnknownVariable = errors.New("unknown variable")
	// ErrUnknownTarget means a name (in Resolve, a group, inherits or a target: context) matches no target or group.
	ErrUnknownTarget = errors.New("unknown target or group")
	// ErrNoDefault means Resolve got no names and the file has neither a "default" group nor a "default" target.
	ErrNoDefault = errors.New("no default group or target")
	// ErrCycle means inherits, target: contexts, groups or variable defaults refer to themselves.
	ErrCycle = errors.New("cycle")
	// ErrBadPlatform means a platform string is malformed.
	ErrBadPlatform = errors.New("bad platform")
	// ErrValidation means a variable's value fails one of its validation blocks.
	ErrValidation = errors.New("variable validation failed")
	// ErrDuplicate means a target, group or variable is declared twice, or a name is both a target and a group.
	ErrDuplicate = errors.New("duplicate definition")
)

// pos renders the start of a source range as "file:line:column".
func pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// diagsError converts HCL error diagnostics into one error wrapping kind, shaped
// "file:line:column: KIND: summary: detail[; file:line:column: summary: detail...]; hint".
func diagsError(kind error, diags hcl.Diagnostics, hint string) error {
	lead := ""
	var msgs []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := strings.TrimSuffix(d.Summary, ".")
		if d.Detail != "" {
			msg += ": " + strings.TrimSuffix(d.Detail, ".")
		}
		where := ""
		if d.Subject != nil {
			where = pos(*d.Subject)
		}
		if len(msgs) == 0 {
			lead = where
		} else if where != "" {
			msg = where + ": " + msg
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return nil
	}
	if lead == "" {
		return fmt.Errorf("%w: %s; %s", kind, strings.Join(msgs, "; "), hint)
	}
	return fmt.Errorf("%s: %w: %s; %s", lead, kind, strings.Join(msgs, "; "), hint)
}

// sortedKeys returns the keys of m in ascending order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// nameList renders names for an error message, or "(none)" when empty.
func nameList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}
