variable "V" { default = "c" }
target "app" { tags = ["c"] }
