target "app" {
  name = "app"
  matrix = { v = ["1", "2"] }
}
