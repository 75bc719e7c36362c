# How shipyard runs this repository's stages (the reference app). The module reads this file
# from the root of --source; see "shipyard.hcl" in README.md for every setting and default.

# Released images are <release registry>/shipyard-<target> (--project wins over this).
project = "shipyard"

# pre-commit runs the hooks of .pre-commit-config.yaml (git and pre-commit are installed for it);
# Pylint imports the app, so its Python dependencies come from Debian too. The gofmt hook is
# skipped: this is a go.mod repository, so the Go checks (gofmt, go vet, go test) run anyway,
# in a Go toolchain container.
lint {
  packages = [
    "black", "pylint", "python3-pylint-django", "python3-django", "python3-psycopg2",
    "python3-pytest", "python3-pytest-django", "python3-whitenoise",
  ]
  pre_commit_skip = ["gofmt"]
}

# pytest in the app's test image (docker-bake-production.hcl's django-test) against a real
# PostgreSQL server built from the bake file's postgres target.
test {
  target  = "django-test"
  command = ["python3", "-m", "pytest", "-p", "no:cacheprovider", "--junitxml=/tmp/junit.xml"]
  report  = "/tmp/junit.xml"
  environment = {
    DATABASE_HOST     = "db"
    DATABASE_PORT     = "5432"
    DATABASE_NAME     = "app"
    DATABASE_USER     = "app"
    DATABASE_PASSWORD = "app-test-password"
  }

  service "db" {
    target = "postgres"
    port   = 5432
    environment = {
      POSTGRES_USER     = "app"
      POSTGRES_PASSWORD = "app-test-password"
      POSTGRES_DB       = "app"
    }
  }
}
