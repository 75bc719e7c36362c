target "app" {
  tags = ["x"
}
