function "f" {
  params = [x]
}
target "app" {}
