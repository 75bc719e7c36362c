// Package repoconfig reads shipyard.hcl, the one file in a repository that tells shipyard how to
// run the stages that differ from one app to the next: the project's name, what lint runs and
// what the tests run against. Everything else (which stages a ref runs, what is built, where it is
// pushed) comes from the branch rules and the bake file.
//
// It is pure: Parse takes the file's bytes, the decisions (Project, Config.Lint) take plain
// values; the Dagger module reads the file and executes what they return.
//
// # The file
//
// shipyard.hcl sits at the repository root (the --source directory). It is HCL native syntax with
// literal values only (no variables, functions or references). Every part is optional:
//
//	project = "goapp"            # released images are <release-registry>/<project>-<target>
//
//	lint {
//	  image           = "debian:bookworm-slim"  # the lint container (the default)
//	  packages        = ["shellcheck"]          # Debian packages installed into it with apt-get
//	  command         = ["shellcheck", "run.sh"] # run in the repository root after pre-commit
//	  pre_commit_skip = ["gofmt"]               # pre-commit hook ids to skip (SKIP=…)
//	  go_checks       = true                    # gofmt, go vet, go test for a go.mod repository
//	}
//
//	test {
//	  target      = "test"                      # bake target of the test image
//	  command     = ["go", "test", "./..."]     # run in that image, in its working directory
//	  report      = "/tmp/junit.xml"            # the JUnit report the command writes
//	  environment = { REDIS_ADDR = "redis:6379" }
//
//	  service "redis" {                         # reachable from the tests as host "redis"
//	    target      = "redis"                   # bake target run as a service
//	    port        = 6379                      # the port it listens on (waited for)
//	    environment = { REDIS_PASSWORD = "test" }
//	  }
//	  service "db" {
//	    image = "postgres:16"                   # or an image, pulled as it is
//	    port  = 5432
//	  }
//	}
//
// # Defaults
//
//   - No file, or no project: the project is --project, else with-gitlab's $CI_PROJECT_NAME, else
//     DefaultProject (see Project).
//   - No lint block: pre-commit runs when the repository has .pre-commit-config.yaml (in
//     debian:bookworm-slim with git and pre-commit), the Go checks run when it has go.mod, and
//     otherwise lint has nothing to do and says so.
//   - No test block: the test stage has nothing to run and says so.
//
// Errors name the file, line and column, say what is wrong and what to write, and wrap ErrSyntax
// or ErrInvalid.
package repoconfig
