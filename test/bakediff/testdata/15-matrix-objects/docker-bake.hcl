variable "VERSIONS" { default = ["3.11", "3.12"] }
target "py" {
  name   = "py-${sanitize(item.name)}-${sanitize(v)}"
  matrix = {
    item = [{ name = "web.app", port = 80 }, { name = "job", port = 0 }]
    v    = VERSIONS
  }
  args = { PORT = item.port, PY = v }
}
