variable "TAG" { default = "" }
variable "EXTRA" { default = "app:edge" }
target "app" {
  tags = ["app:1.0", TAG == "" ? "" : "app:${TAG}", "app:1.0", EXTRA, "", "app:edge", "app:latest"]
  platforms = ["linux/amd64", "", "linux/amd64", "linux/arm64"]
}
