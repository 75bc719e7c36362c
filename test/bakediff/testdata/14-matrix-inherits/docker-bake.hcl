target "base" {
  name = "base-${os}"
  matrix = { os = ["debian", "alpine"] }
  dockerfile = "Dockerfile.${os}"
  args = { OS = os }
}
target "app" {
  inherits = ["base-alpine"]
  tags = ["app:alpine"]
}
target "app-all" {
  inherits = ["base-debian", "base-alpine"]
}
