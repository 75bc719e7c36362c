variable "BASE" { default = "" }
target "base" {
  contexts = { shared = "./shared", img = "docker-image://alpine:3" }
}
target "app" {
  inherits = ["base"]
  contexts = { img = "", opt = BASE, dep = "target:base" }
}
