# No groups: Resolve() with no names falls back to the "default" target.
target "default" {
  tags = ["app:local"]
}
