target "app" { tags = ["app:${NOPE}"] }
