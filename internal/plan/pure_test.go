package plan

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPure: the release decisions (internal/latest, and internal/plan with it) link neither a
// process nor an HTTP client; running git and calling GitLab live in internal/vcs. internal/plan
// may link net: internal/bake's rsadecrypt parses keys with golang.org/x/crypto/ssh, which (like
// crypto/x509 under it) imports net for addresses, not to connect.
func TestPure(t *testing.T) {
	forbidden := map[string][]string{
		"shipyard/internal/latest": {"os/exec", "net/http", "net"},
		"shipyard/internal/plan":   {"os/exec", "net/http"},
		// where AWS requests go is decided without any network code
		"shipyard/internal/awsendpoint": {"os/exec", "net/http", "net"},
		// the vulnerability gate parses the bytes it is given; running trivy and reading files are the caller's
		"shipyard/internal/scan": {"os/exec", "net/http", "net"},
		// bench/run's medians, ratios and verdicts; timing the commands is bench/run's
		"shipyard/internal/benchstat": {"os/exec", "net/http", "net"},
		// the image config's times and history; reading and pushing it are internal/registry's
		"shipyard/internal/imgconfig": {"os/exec", "net/http", "net"},
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command (go test puts GOROOT/bin first on the PATH): %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", `{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}`,
		"shipyard/internal/latest", "shipyard/internal/plan", "shipyard/internal/awsendpoint", "shipyard/internal/scan",
		"shipyard/internal/benchstat", "shipyard/internal/imgconfig").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	imports := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		pkg, deps, _ := strings.Cut(strings.TrimSpace(line), ":")
		imports[pkg] = strings.Fields(deps)
	}
	for root, bad := range forbidden {
		if _, ok := imports[root]; !ok {
			t.Fatalf("go list -deps printed no %s", root)
		}
		// via maps each package reached from root to the package that imports it on a shortest path
		via := map[string]string{root: ""}
		for queue := []string{root}; len(queue) > 0; queue = queue[1:] {
			for _, dep := range imports[queue[0]] {
				if _, seen := via[dep]; !seen {
					via[dep] = queue[0]
					queue = append(queue, dep)
				}
			}
		}
		for _, pkg := range bad {
			if _, ok := via[pkg]; !ok {
				continue
			}
			chain := []string{pkg}
			for p := via[pkg]; p != ""; p = via[p] {
				chain = append([]string{p}, chain...)
			}
			t.Errorf("%s links %s: %s", root, pkg, strings.Join(chain, " -> "))
		}
	}
}
