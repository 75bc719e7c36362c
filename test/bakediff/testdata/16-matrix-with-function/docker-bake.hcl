function "image" {
  params = [name, v]
  result = "reg.example/${name}:${v}"
}
target "svc" {
  name   = "svc-${n}"
  matrix = { n = ["a", "b", "c"] }
  tags   = [image(n, "1"), image(n, "1"), ""]
}
