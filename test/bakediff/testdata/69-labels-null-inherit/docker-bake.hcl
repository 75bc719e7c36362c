target "base" {
  labels = { a = "1", b = "2" }
  extra-hosts = { h = "1.1.1.1" }
  description = "base"
}
target "app" {
  inherits = ["base"]
  labels = { a = null, c = "3" }
  description = ""
  dockerfile = "docker/Dockerfile"
}
