variable "X" { default = "first" }
variable "X" { default = "second" }
target "app" {
  context = "one"
  args = { A = "1" }
  tags = ["app:1"]
}
target "app" {
  args = { B = X }
  platforms = ["linux/arm64"]
}
