variable "TAG" { default = "override" }
target "app" {
  args = { B = "2", C = "3" }
  platforms = ["linux/arm64"]
}
target "extra" { context = "extra" }
group "default" { targets = ["app", "extra"] }
