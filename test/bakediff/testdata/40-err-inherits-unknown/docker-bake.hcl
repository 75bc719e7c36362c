target "app" { inherits = ["nope"] }
