// Package bake reads docker buildx bake files (HCL or JSON) and resolves the targets to build.
//
// It evaluates the files with the HCL library itself, not with buildx, following buildx's
// semantics (v0.38.2); test/bakediff compares the two on a corpus of bake files. Parse
// evaluates one file, ParseFiles several merged in order; File.Resolve turns target and group
// names into an ordered list of fully merged targets.
//
// # Files
//
//   - HCL native syntax, or JSON when the name ends in .json (other names: HCL, then JSON).
//     Compose files are ErrUnsupported.
//   - ParseFiles merges files in order as bake does: blocks of the same target (in one file or
//     several) merge like inherits, later attributes winning; a later variable, function or
//     group of the same name replaces an earlier one. bake's override convention is a
//     docker-bake.override.hcl (or .json) next to the main file, read after it: OverrideFiles
//     names them; the caller reads those that exist.
//
// # Variables
//
//   - variable "NAME" { default, description, type, validation { condition, error_message } }
//     and top-level NAME = EXPR attributes (never overridden). A variable's value is, in order:
//     Options.Vars, then a --set NAME=VALUE in Options.Set, then Options.LookupEnv(NAME) (a set
//     but empty environment variable counts as set), then the default; without a default it is
//     "" (null when typed). Defaults may use other variables and functions (cycles are errors).
//   - An override is converted like bake does: typed variables from NAME_JSON as JSON, lists,
//     sets, tuples and maps (k:v) from CSV, primitives parsed; untyped ones to the type of the
//     default (bool, number), else kept a string. Every key of Options.Vars and every variable
//     --set must name a declared variable (or NAME_JSON of one).
//   - Validation blocks run after all variables are known; a false condition is ErrValidation
//     with the error_message.
//
// # Expressions and functions
//
//   - Interpolation, references, operators, conditionals, for expressions, and every function
//     buildx offers (FunctionNames: go-cty's stdlib, hcl's try/can/convert, and bake's own such
//     as sanitize, semvercmp, homedir, indexof, md5/sha*, cidr*, uuidv4/5, formattimestamp,
//     unixtimestampparse, timestamp). One deliberate limit: bcrypt refuses a cost above
//     MaxBcryptCost (ErrInvalid), where buildx would hash for hours or days.
//   - function "NAME" { params = [a, b], variadic_params = rest, result = EXPR } blocks; results
//     may use variables and other functions.
//
// # Targets and groups
//
//   - target "NAME" with every attribute bake evaluates except those listed below. Numbers and
//     bools become strings; an attribute or map value that evaluates to null counts as not
//     written (so a parent's value stays). Context defaults to ".", Dockerfile to "Dockerfile".
//   - matrix = { KEY = [values...] } with name = EXPR: one target per combination, each named by
//     name (evaluated with the matrix keys); the block's label becomes a group of those names.
//     Other targets may inherit from a generated name.
//   - inherits = ["a", "b"]: parents are applied in order, then the target itself. Maps (args,
//     labels, contexts, extra-hosts) merge key by key; tags, platforms, cache-to and output are
//     replaced; annotations, attest, secret, ssh, cache-from, no-cache-filter, ulimits and
//     entitlements accumulate.
//   - After merging, empty and repeated tags, platforms, annotations, ulimits and no-cache-filter
//     entries are dropped (order kept), secrets/ssh/attest keep one entry per id/type, repeated
//     cache and output entries are dropped, and named contexts whose value is "" are removed.
//     network = "host" adds the network.host entitlement.
//   - Build-time attributes are parsed and stored for the consumer to honour or report: secret
//     ("id=ID,env=VAR", "id=ID,src=PATH" or objects) as []Secret, ssh as []SSH, cache-from and
//     cache-to as []CacheEntry, output as []Output, attest as []Attest, and no-cache, pull,
//     no-cache-filter, call, network, shm-size, ulimits, annotations, entitlements,
//     extra-hosts, description as written.
//   - platforms are normalised by ParsePlatform, and an entry holding commas is several
//     platforms; "local" (the builder's own platform) is kept as LocalPlatform: use Platform.Or
//     to substitute the builder's platform (Matrix takes it as an argument).
//   - bake's built-in variables: BAKE_CMD_CONTEXT is CmdContext ("cwd://", the source root) and
//     BAKE_LOCAL_PLATFORM is Options.Builder; a file cannot redefine them. A context or named
//     context "cwd://PATH" becomes PATH.
//   - dockerfile-inline is kept as Target.DockerfileInline; the consumer writes it into the
//     build context.
//   - target.NAME.ATTR (and target.NAME.name) is the attribute as written in target NAME's own
//     block(s), before inheritance and overrides (the last block of that name wins), null when
//     not written; references may go forward, cycles are errors.
//   - contexts values "target:NAME" make NAME a dependency: Resolve includes it and orders it
//     before its users. Other values (paths, docker-image://, URLs) are kept as written.
//   - group "NAME" { targets = [...] }: members are targets or groups (nested groups expand,
//     cycles are errors), checked to exist. A name may not be both a target and a group.
//   - Options.Set takes buildx's --set TARGET.KEY=VALUE (TARGET may be a pattern like *; KEY is
//     context, dockerfile, target, args.NAME, labels.NAME, contexts.NAME, tags, platform,
//     cache-from, cache-to, output, secrets, secret.ID, ssh, attest, annotations, no-cache,
//     no-cache-filter, pull, call, network, shm-size, ulimits, entitlements, extra-hosts.NAME;
//     "+=" appends to lists, an empty value clears them). Overrides of a parent apply to the
//     targets inheriting it, as in bake.
//
// # Not supported (each is an error naming the construct, its position and what to do)
//
//   - Compose files; resources and policy attributes; --set push, load,
//     policy and resource (ErrUnsupported).
//   - References to groups (group.NAME.targets), to matrix targets (target.NAME.ATTR where
//     NAME is a matrix block) and to the typed attributes (secret, ssh, cache-*, output,
//     attest) of other targets (ErrUnsupported).
//
// Deliberately stricter than bake: an unknown target attribute or block type (bake ignores
// it) is ErrInvalid, and an inherits cycle (bake silently drops it) is ErrCycle.
//
// Errors carry the position "file:line:column" where HCL provides one, say what is wrong and
// what to do, and wrap one of the package's sentinel errors for errors.Is.
package bake
