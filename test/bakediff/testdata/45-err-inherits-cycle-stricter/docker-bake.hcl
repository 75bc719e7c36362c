target "a" { inherits = ["b"] }
target "b" { inherits = ["a"] }
