package attest

// The SBOM generator is syft's CLI, run from its published image: a CLI rather than the library
// keeps syft's hundreds of packages out of the module's own binary, which every call compiles
// and loads, and an image rather than a build from source keeps a fresh engine (every job of a
// Docker executor starts one) from compiling syft first (10 min 17 s on 2 cores, measured in a
// GitLab build job). The image is upstream's layout: the static binary at /syft, its entrypoint.
const (
	// SyftVersion is the syft release the SBOMs are made with.
	SyftVersion = "v1.57.1"
	// SyftModule is its command's module, what its image is built from.
	SyftModule = "github.com/anchore/syft/cmd/syft@" + SyftVersion
	// SyftImage is its published image.
	SyftImage = "anchore/syft:" + SyftVersion
	// SyftBinary is the CLI's path in that image.
	SyftBinary = "/syft"
)

// SyftImageArgs are syft's arguments after its source, for the file system of an image mounted
// as a directory: the SBOM in format, named name at version (the image's repository and digest).
//
// syft picks its catalogers by the kind of source, and a directory gets the set meant for source
// trees, which also reports what is declared but not installed: the .deb files apt leaves in
// /var/cache/apt/archives became a second entry for each of those packages (python3-django twice
// in the reference app's image), and the extra catalogers cost time (postgres: 16.6 s of CPU
// against 4.6 s). The image set, which catalogues installed software only, is what an image's
// SBOM is.
//
// The SBOM goes to the file out, not to stdout: what an exec prints is streamed into the call's
// progress, and an image's SPDX document is megabytes (7 MB for the reference app's django image)
// that a GitLab job log would carry four times over (its default limit is 4 MB).
func SyftImageArgs(format, out, name, version string) []string {
	return []string{"--override-default-catalogers", "image", "--quiet", "-o", format + "=" + out, "--source-name", name, "--source-version", version}
}
