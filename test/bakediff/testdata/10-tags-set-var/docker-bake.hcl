variable "TAG" { default = "" }
target "app" {
  tags = ["app:1.0", TAG == "" ? "" : "app:${TAG}"]
}
