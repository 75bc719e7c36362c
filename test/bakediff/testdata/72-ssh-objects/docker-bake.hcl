# ssh written as objects, with and without paths
target "app" {
  ssh = [{ id = "default" }, { id = "deploy", paths = ["/keys/deploy"] }]
}
target "child" {
  inherits = ["app"]
  ssh      = [{ id = "extra" }]
}
