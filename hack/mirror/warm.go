package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"dagger.io/dagger"
)

// The Go SDK runtime image comes with its Go caches filled for this repository's module (ci/).
//
// Measured on a fresh engine (2 cores, bench/run l), nearly all of the first call was the engine
// compiling the module's dependencies twice: once to read the module's types ("load module",
// codegen's package load compiles every dependency for its export data) and once more when the
// constructor starts the runtime (codegen again, then go build), each time into a build cache
// that starts from the image's /root/.cache/go-build. Go's standard library and the Go SDK's
// gRPC, OpenTelemetry and protobuf are most of it, and they only change with the module's
// go.mod. So the image's build cache holds those packages compiled, and its module cache the
// modules codegen's `go mod tidy` reads: a fresh engine then compiles only the repository's own
// packages. shipyard's own packages (its two modules) are left out: they change with every commit
// and would rebuild the image each time.

// warmInputs is what the caches are filled from, computed on the host with the Go the image gets
// (the host's own tree is copied into it).
type warmInputs struct {
	packages []string          // import paths the module builds, the standard library's included
	modules  []string          // path@version of each module a package of `go mod tidy`'s graph is in
	files    map[string][]byte // go.mod and go.sum of the two modules, by path relative to the root
}

// ownModules are the repository's modules: never compiled into the image's cache.
var ownModules = map[string]bool{"shipyard": true, "shipyard/ci": true}

// warmFiles are the files go needs to resolve the module's build list.
var warmFiles = []string{"go.mod", "go.sum", "ci/go.mod", "ci/go.sum"}

func (m *mirror) warmInputs() (warmInputs, error) {
	w := warmInputs{files: map[string][]byte{}}
	for _, f := range warmFiles {
		b, err := os.ReadFile(filepath.Join(m.root, f))
		if err != nil {
			return w, err
		}
		w.files[f] = b
	}
	ci := filepath.Join(m.root, "ci")
	pkgs, err := goList(ci, "-deps", "-f", `{{if .Module}}{{.Module.Path}}{{else}}std{{end}} {{.ImportPath}}`, ".")
	if err != nil {
		return w, err
	}
	for _, l := range pkgs {
		mod, path, _ := strings.Cut(l, " ")
		if !ownModules[mod] && path != "unsafe" {
			w.packages = append(w.packages, path)
		}
	}
	// codegen runs `go mod tidy`, which reads every module providing a package of the module's
	// graph with every build tag (a tool's import, a test's): `go mod why -m` is that graph
	mods, err := goList(ci, "-m", "-f", `{{if not .Main}}{{.Path}} {{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}{{end}}`, "all")
	if err != nil {
		return w, err
	}
	version := map[string]string{}
	var paths []string
	for _, l := range mods {
		path, v, _ := strings.Cut(l, " ")
		if v != "" && !ownModules[path] { // a module replaced by a directory has no version
			version[path] = v
			paths = append(paths, path)
		}
	}
	why, err := goCmd(ci, append([]string{"mod", "why", "-m"}, paths...)...)
	if err != nil {
		return w, err
	}
	for i, l := range why {
		path, ok := strings.CutPrefix(l, "# ")
		if ok && i+1 < len(why) && !strings.HasPrefix(why[i+1], "(main module does not need") && version[path] != "" {
			w.modules = append(w.modules, path+"@"+version[path])
		}
	}
	sort.Strings(w.packages)
	sort.Strings(w.modules)
	if len(w.packages) == 0 {
		return w, fmt.Errorf("go list found no package to compile in %s", ci)
	}
	return w, nil
}

// goList runs go list in dir and returns its output's lines.
func goList(dir string, args ...string) ([]string, error) {
	return goCmd(dir, append([]string{"list"}, args...)...)
}

// goCmd runs go in dir and returns its output's non-empty lines.
func goCmd(dir string, args ...string) ([]string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s in %s: %v: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// warmScript fills the caches from /tmp/warm (the packages and modules lists, the go.mod and
// go.sum files). entry is the time written into every build cache entry.
func warmScript(entry string) string {
	return strings.ReplaceAll(`
xargs go mod download <../modules
go mod graph >/dev/null
xargs go build <../packages
find /root/.cache/go-build -name '*-a' -exec sed -i -E 's/^(v1 [0-9a-f]{64} [0-9a-f]{64} [ 0-9]{20} )[ 0-9]{20}$/\1ENTRY/' {} +
rm -f /root/.cache/go-build/trim.txt
find /go/pkg/mod/cache/download -name '*.zip' -delete
`, "ENTRY", entry)
}

// hash writes everything the caches are made from to h, the script that fills them included.
func (w warmInputs) hash(h io.Writer) {
	fmt.Fprintln(h, warmScript(""))
	for _, f := range warmFiles {
		fmt.Fprintf(h, "%s %d\n", f, len(w.files[f]))
		h.Write(w.files[f])
	}
	fmt.Fprintln(h, strings.Join(w.packages, " "))
	fmt.Fprintln(h, strings.Join(w.modules, " "))
}

// warmGo fills ctr's module cache (/go/pkg/mod) and build cache (/root/.cache/go-build).
// The build cache's entries record when they were written; they are set to sdkEpoch, and the
// trim stamp (the time of the last trim) is left out, so the same inputs give the same bytes.
// `go mod graph` fetches the go.mod of every module of the graph, which tidy reads too.
// The modules' zips are left out (go reads the extracted tree and checks it against go.sum
// through the .ziphash beside it).
func (m *mirror) warmGo(ctr *dagger.Container, w warmInputs) *dagger.Container {
	src := m.c.Directory()
	for _, f := range warmFiles {
		src = src.WithNewFile(f, string(w.files[f]))
	}
	src = src.WithNewFile("packages", strings.Join(w.packages, "\n")+"\n").
		WithNewFile("modules", strings.Join(w.modules, "\n")+"\n")
	entry := fmt.Sprintf("%20d", sdkEpoch*1_000_000_000)
	return ctr.
		WithMountedDirectory("/tmp/warm", src).
		WithWorkdir("/tmp/warm/ci").
		WithEnvVariable("GOFLAGS", "-mod=readonly").
		WithExec([]string{"sh", "-ec", warmScript(entry)}).
		WithoutEnvVariable("GOFLAGS").
		WithWorkdir("/go").
		WithoutMount("/tmp/warm")
}
