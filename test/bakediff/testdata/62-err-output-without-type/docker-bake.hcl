target "app" { output = ["dest=out,compression=gzip"] }
