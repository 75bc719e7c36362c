variable "TAG" { default = "dev" }
group "default" { targets = ["app", "db"] }
target "app" {
  context = "app"
  tags    = ["app:${TAG}"]
  args    = { A = "1", B = "1" }
  labels  = { team = "core" }
}
target "db" { context = "db" }
