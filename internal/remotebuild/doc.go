// Package remotebuild turns the ARM builds of a run into what a builder's bare engine runs:
// GraphQL documents of Dagger's core API, the variables each one takes, and a driver script
// that sends them, in dependency order, to the session of the `dagger run` it runs in. The
// builder then needs nothing but the engine: no module is loaded there.
//
// The steps are those of the local build (ci/build.go): per bake target and platform, the
// context directory of the repository, the named contexts (a `target:` dependency's root
// filesystem or a directory of the repository under .shipyard-contexts/NAME, and the
// Dockerfile rewritten by internal/dockerctx), the build args, the stage, the build secrets,
// dockerBuild for the platform, the labels; then a publish with every registry's credentials
// to the per-platform reference the plan gives.
//
// Secrets never appear in a document, a variable file or a command line: the driver reads
// them from its environment (Dagger secret variables of the container it runs in) into the
// request body it pipes to the session. Registry passwords are `secret(uri: "env://…")`;
// build secrets are `setSecret`, because dockerBuild mounts a secret under its name and a
// secret made from a URI has none.
//
// Parse reads the answers the driver leaves behind (one JSON file per query, with its start
// and end times) back into what was pushed, what failed and when each step ran.
package remotebuild
