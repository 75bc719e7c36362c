variable "RELEASE" { default = false }
target "base" {
  context = "base-ctx"
  tags = ["base:1"]
  args = { A = "base" }
  platforms = ["linux/amd64", "linux/arm64"]
}
target "mid" {
  inherits = ["base"]
  tags = []
  context = null
}
target "leaf" {
  inherits = ["mid"]
  tags = RELEASE ? ["leaf:1"] : null
  args = { A = null, B = 2, C = true }
  dockerfile = ""
}
