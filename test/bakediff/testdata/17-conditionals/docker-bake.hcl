variable "RELEASE" { default = false }
variable "TAG" { default = "dev" }
target "app" {
  tags   = RELEASE ? ["app:${TAG}", "app:latest"] : ["app:${TAG}"]
  target = RELEASE ? "production" : "development"
  args   = { DEBUG = RELEASE ? "0" : "1", LEVEL = TAG == "dev" ? "debug" : null }
}
