# How shipyard runs goapp's stages. See "shipyard.hcl" in shipyard's README for every setting.

# Released images are <release registry>/goapp-<target>.
project = "goapp"

# There is no .pre-commit-config.yaml, so lint is this command (in debian:bookworm-slim with
# shellcheck) and the Go checks go.mod brings: gofmt, go vet, go test ./... (the Redis tests
# skip there: REDIS_ADDR is only set in the test stage).
lint {
  packages = ["shellcheck"]
  command  = ["shellcheck", "redis/entrypoint.sh"]
}

# The tests run in the bake target "test" against the Redis server of the bake target "redis",
# reached as host "redis"; gojunit writes the JUnit report.
test {
  target  = "test"
  command = ["gojunit", "-o", "/tmp/junit.xml", "-count=1", "./..."]
  report  = "/tmp/junit.xml"
  environment = {
    REDIS_ADDR     = "redis:6379"
    REDIS_PASSWORD = "goapp-test-password"
  }

  service "redis" {
    target = "redis"
    port   = 6379
    environment = {
      REDIS_PASSWORD = "goapp-test-password"
    }
  }
}
