service "x" {}
target "app" {}
