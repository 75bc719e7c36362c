variable "TAG" { default = "dev" }
target "app" {
  tags = ["app:${TAG}"]
  args = { A = "hcl" }
}
