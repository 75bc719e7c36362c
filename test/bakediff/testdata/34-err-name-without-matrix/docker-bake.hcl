target "app" { name = "x" }
