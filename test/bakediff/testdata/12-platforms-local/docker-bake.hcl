target "native" { platforms = ["local"] }
target "mixed" { platforms = ["local", "linux/arm64", "linux/arm/v7"] }
target "normalised" { platforms = ["linux/x86_64", "Linux/AArch64", "linux/arm64/v8"] }
