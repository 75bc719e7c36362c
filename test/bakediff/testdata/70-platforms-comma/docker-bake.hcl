# one entry naming several platforms, as people write when they paste a --platform value
target "app" { platforms = ["linux/amd64,linux/arm64"] }
target "mixed" { platforms = ["linux/arm64", "linux/amd64,linux/arm64,linux/arm/v7"] }
target "child" {
  inherits  = ["app"]
  platforms = ["linux/arm64,local"]
}
