group "default" { targets = ["a"] }
group "default" { targets = ["b", "a", "b"] }
group "all" { targets = ["default", "c"] }
target "a" {}
target "b" {}
target "c" {}
