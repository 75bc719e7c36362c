function "slug" {
  params = [s]
  result = lower(regex_replace(s, "[^a-zA-Z0-9]+", "-"))
}
function "ref" {
  params = [name, tag]
  result = "${REPO}/${slug(name)}:${tag}"
}
variable "REPO" { default = "reg.example/${slug("My Team")}" }
variable "DEFAULT_TAG" { default = ref("Base Image", "v1") }
target "app" {
  tags = [ref("Web App", "1.0"), DEFAULT_TAG]
}
