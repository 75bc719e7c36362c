group "default" { targets = ["app"] }
target "app" {
  name = "app-${tgt}-${replace(ver, ".", "-")}"
  matrix = {
    tgt = ["api", "worker"]
    ver = ["1.0", "2.0"]
  }
  target = tgt
  args = { VERSION = ver }
  tags = ["app/${tgt}:${ver}"]
}
