package repoconfig

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse: Parse never panics, every error wraps exactly one of ErrSyntax and ErrInvalid, and
// a file it accepts parses to the same Config again, which the decisions take without panicking.
// The seeds are the repository's own shipyard.hcl files and the package doc's example.
func FuzzParse(f *testing.F) {
	for _, path := range []string{"../../shipyard.hcl", "../../examples/goapp/shipyard.hcl"} {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte(`project = "goapp"
lint {
  image           = "debian:bookworm-slim"
  packages        = ["shellcheck"]
  command         = ["shellcheck", "run.sh"]
  pre_commit_skip = ["gofmt"]
  go_checks       = true
}
test {
  target      = "test"
  command     = ["go", "test", "./..."]
  report      = "/tmp/junit.xml"
  environment = { REDIS_ADDR = "redis:6379" }
  service "redis" {
    target      = "redis"
    port        = 6379
    environment = { REDIS_PASSWORD = "test" }
  }
  service "db" {
    image = "postgres:16"
    port  = 5432
  }
}
`))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := Parse(FileName, src)
		if err != nil {
			if errors.Is(err, ErrSyntax) == errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) = %v, which wraps not exactly one of ErrSyntax and ErrInvalid", src, err)
			}
			return
		}
		again, err := Parse(FileName, src)
		if err != nil {
			t.Fatalf("Parse(%q) succeeded, then failed: %v", src, err)
		}
		if diff := cmp.Diff(c, again); diff != "" {
			t.Fatalf("Parse(%q) is not stable (-first +again):\n%s", src, diff)
		}
		Project("", c, "")
		c.LintPlan(Repo{PreCommit: true, GoModule: true}, nil)
		if c.Test != nil {
			c.Test.Targets()
		}
	})
}
