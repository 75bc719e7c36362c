function "tag" {
  params = [repo, version]
  result = "${REGISTRY}/${repo}:${version}"
}
function "tags" {
  params          = [repo]
  variadic_params = versions
  result          = [for v in versions : tag(repo, v)]
}
function "noargs" {
  params = []
  result = "constant"
}
variable "REGISTRY" { default = "reg.example/acme" }
target "app" {
  tags = tags("app", "1.0", "1", "latest")
  args = { C = noargs(), ONE = tag("x", "y") }
}
