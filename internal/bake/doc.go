// Package bake reads a docker buildx bake file (HCL) and resolves the targets to build.
//
// It evaluates the file with the HCL library itself, not with buildx, and implements the
// subset of bake semantics the shipyard CI needs. Parse evaluates a file; File.Resolve
// turns target and group names into an ordered list of fully merged targets.
//
// # Supported
//
//   - variable "NAME" { default = EXPR, description = "..." }. A variable's value is, in
//     order of priority: Options.Vars, then Options.LookupEnv(NAME) (a set but empty
//     environment variable counts as set), then the default. Without a default the value is
//     "". Defaults may use other variables (cycles are errors). An override is converted to
//     the type of the default: a bool default takes true/false/1/0, a number default a number.
//     Every key of Options.Vars must name a declared variable.
//   - Expressions: ${NAME} interpolation, bare NAME references, operators (== != && || ! ?:),
//     and the functions returned by FunctionNames (upper, lower, join, split, replace,
//     trimprefix, trimsuffix, concat, format, equal, notequal, ...).
//   - group "NAME" { targets = [...] }: members are targets or groups (nested groups are
//     expanded, cycles are errors), checked to exist when the file is parsed.
//   - target "NAME" with context (default "."), dockerfile (default "Dockerfile", relative
//     to the context), target, args, labels, contexts, tags, platforms, description and
//     inherits. Numbers and bools become strings. An attribute or map value that
//     evaluates to null counts as not written (so a parent's value stays). Platforms are
//     normalised by ParsePlatform.
//   - inherits = ["a", "b"]: parents are applied in order, then the target itself. Maps
//     (args, labels, contexts) merge key by key with the later one winning; strings and
//     lists (tags, platforms) are replaced by the later one when it sets them.
//   - contexts values "target:NAME" make NAME a dependency: Resolve includes it and orders
//     it before its users. Other values (paths, docker-image://, URLs) are kept as written.
//   - Target and group names share one namespace: a name may not be both.
//
// # Not supported (each is an error wrapping ErrUnsupported, never silently ignored)
//
//   - JSON and compose bake files, and merging several files.
//   - function blocks, functions other than FunctionNames, and timestamp().
//   - matrix and name in targets; typed variables (type) and validation blocks.
//   - Target attributes this CI does not use (cache-from, cache-to, output, secret, ssh,
//     attest, ...). A misspelt or invented attribute is ErrInvalid instead.
//   - Top-level attributes (global variables without a block), references to other
//     blocks' attributes (target.NAME.ATTR) and bake's built-in BAKE_* variables.
//   - Overriding attributes from the command line (--set).
//   - Two blocks with the same target name (bake would merge them; here it is ErrDuplicate).
//
// Errors carry the position "file:line:column" where HCL provides one, say what is wrong and
// what to do, and wrap one of the package's sentinel errors for errors.Is.
package bake
