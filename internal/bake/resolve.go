package bake

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultName is the group (or, failing that, target) Resolve builds when it is given no names.
const DefaultName = "default"

// Resolve returns the targets to build for the given target or group names, in build order.
//
// Groups expand to their members, recursively. With no names, the "default" group is used, else a
// "default" target, else ErrNoDefault. Targets referenced through "target:" contexts are included even
// when not named, and every target comes after the targets it depends on; otherwise targets keep the
// order in which they are first named. Each target appears once. The returned targets are copies.
func (f *File) Resolve(names ...string) ([]*Target, error) {
	if len(names) == 0 {
		_, isGroup := f.Groups[DefaultName]
		_, isTarget := f.Targets[DefaultName]
		if !isGroup && !isTarget {
			return nil, fmt.Errorf("%w: no names given and the file has no %q group or target; name targets or groups (%s), or add group %q { targets = [...] }",
				ErrNoDefault, DefaultName, f.available(), DefaultName)
		}
		names = []string{DefaultName}
	}
	var requested []string
	seen := map[string]bool{}
	for _, name := range names {
		if err := f.expand(name, nil, seen, &requested); err != nil {
			return nil, err
		}
	}
	var out []*Target
	done := map[string]bool{}
	for _, name := range requested {
		if err := f.visit(name, nil, done, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// expand appends the targets that name (a target or group) stands for to out, skipping those already seen.
func (f *File) expand(name string, groups []string, seen map[string]bool, out *[]string) error {
	if members, ok := f.Groups[name]; ok {
		if i := slices.Index(groups, name); i >= 0 {
			return fmt.Errorf("%w in groups: %s; remove one of these group members", ErrCycle, strings.Join(append(groups[i:], name), " -> "))
		}
		groups = append(groups, name)
		for _, m := range members {
			if err := f.expand(m, groups, seen, out); err != nil {
				return err
			}
		}
		return nil
	}
	if _, ok := f.Targets[name]; !ok {
		where := ""
		if len(groups) > 0 {
			where = fmt.Sprintf(" (member of group %q)", groups[len(groups)-1])
		}
		return fmt.Errorf("%w %q%s; use one of the available names: %s", ErrUnknownTarget, name, where, f.available())
	}
	if !seen[name] {
		seen[name] = true
		*out = append(*out, name)
	}
	return nil
}

// visit appends target name to out after the targets it depends on through "target:" contexts.
func (f *File) visit(name string, stack []string, done map[string]bool, out *[]*Target) error {
	if done[name] {
		return nil
	}
	if i := slices.Index(stack, name); i >= 0 {
		return fmt.Errorf("%w in target: contexts: %s; a target cannot depend on itself, remove one of these contexts",
			ErrCycle, strings.Join(append(stack[i:], name), " -> "))
	}
	t, ok := f.Targets[name]
	if !ok {
		user := "Resolve"
		if len(stack) > 0 {
			user = fmt.Sprintf("target %q", stack[len(stack)-1])
		}
		return fmt.Errorf("%w %q used as a target: context by %s; use one of the available targets: %s",
			ErrUnknownTarget, name, user, nameList(sortedKeys(f.Targets)))
	}
	stack = append(stack, name)
	for _, dep := range t.TargetDeps() {
		if err := f.visit(dep, stack, done, out); err != nil {
			return err
		}
	}
	done[name] = true
	*out = append(*out, t.clone())
	return nil
}

// check verifies that every group and target resolves, so that errors surface when the file is parsed.
func (f *File) check() error {
	for _, name := range sortedKeys(f.Groups) {
		if _, err := f.Resolve(name); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(f.Targets) {
		if _, err := f.Resolve(name); err != nil {
			return err
		}
	}
	return nil
}

// available lists the file's targets and groups for error messages.
func (f *File) available() string {
	return fmt.Sprintf("targets: %s; groups: %s", nameList(sortedKeys(f.Targets)), nameList(sortedKeys(f.Groups)))
}
