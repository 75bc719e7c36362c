REGISTRY = "reg.example"
PREFIX = "${REGISTRY}/acme"
target "app" { tags = ["${PREFIX}/app:1"] }
