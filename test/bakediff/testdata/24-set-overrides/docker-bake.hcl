target "base" { args = { FROM_BASE = "1" } }
target "api" {
  inherits = ["base"]
  tags = ["api:1"]
  platforms = ["linux/amd64"]
}
target "web" {
  tags = ["web:1"]
  labels = { a = "1" }
}
