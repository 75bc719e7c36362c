function "img" {
  params = [n]
  result = "${REPO}/${n}"
}
variable "REPO" { default = "reg.example" }
target "app" {}
