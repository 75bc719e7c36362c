function "img" {
  params = [n]
  result = "${REPO}/${n}:${TAG}"
}
variable "REPO" { default = "reg.example" }
TAG = "1.0"
