// Package dockerctx emulates named build contexts (buildx --build-context NAME=...,
// bake contexts = { NAME = "..." }) for builders that have none, such as Dagger v0.19's
// Directory.DockerBuild, by rewriting the Dockerfile text before the build.
//
// A context is an Image (an image reference) or a Dir: a directory the caller puts at
// Context.Path inside the build context (a local path context, or a "target:" context
// materialised as the built target's root filesystem). As in BuildKit, a context overrides
// a stage or image of the same name; names are matched case-insensitively.
//
// # Rewrites
//
//   - FROM [--platform=...] NAME [AS stage]: Image gives FROM REF (flags and AS kept); Dir
//     is an ErrUnsupported error, because a directory cannot be a base image without named
//     contexts: use COPY --from=NAME in a stage built FROM an image instead.
//   - COPY --from=NAME [flags] SRC... DST: Image gives COPY --from=REF; Dir drops --from and
//     turns each source into PATH/SRC, in shell form and in JSON-array form. Other flags
//     (--chown, --chmod, --link, --exclude) are kept. Literal sources are cleaned as if
//     rooted at the context (so "/app/dist" and "../app/dist" both become PATH/app/dist, as
//     ".." cannot leave a context in BuildKit either); a trailing "/" is kept. Sources with
//     quotes, variables or escape characters are prefixed as written and may not use "..".
//   - RUN --mount=...,from=NAME,...: Image gives from=REF for every mount type. Dir works for
//     bind mounts only (the default type): from is dropped and source=SRC becomes
//     source=PATH/SRC (source=PATH when there was none), so the mount reads the build context.
//     Other fields are kept; the flag is re-quoted when needed.
//
// A stage named like a context may stay in the file: every reference to the name goes to
// the context instead, the stage becomes unused and BuildKit skips it.
//
// # Left as written
//
// Comments, blank lines, line continuations, here-document bodies and parser directives
// ("# syntax=", "# escape=", "# check=") are kept byte for byte; the escape directive's
// character is honoured for continuations. An edited word that spanned a continuation is
// written back on one line. Quotes and backslashes inside flags are decoded the way
// BuildKit's flag scanner does (--from="frontend" names frontend); a FROM name may be
// quoted as a whole. Names written with variables ("FROM ${BASE}", "--from=$STAGE"), with
// the escape character or partly quoted in FROM are never matched, so a variable whose
// value is a context name is not emulated. ONBUILD instructions are left
// alone (they run in another build). Contexts the Dockerfile never names change nothing.
//
// # Not supported (ErrUnsupported, naming the Dockerfile line)
//
//   - FROM a Dir context; a cache (or other non-bind) mount seeded from a Dir context.
//   - COPY --parents from a Dir context (the copied parents would include PATH); a
//     here-document source in COPY --from=DIR; several --from flags on one COPY.
//
// # Differences from real named contexts the caller must know
//
//   - A Dir context's files are part of the main build context, so a "COPY . ..." in the
//     same Dockerfile also copies PATH, and a .dockerignore that excludes PATH hides them
//     from the rewritten COPY instructions.
//   - When the stage being built (the build target) is itself named like a context, real
//     named contexts would return the context; the rewritten file still builds the stage.
package dockerctx
