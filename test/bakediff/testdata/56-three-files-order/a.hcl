variable "V" { default = "a" }
target "app" {
  args = { FROM = "a", V = V }
  tags = ["a"]
}
