target "app" { dockerfile-inline = "FROM scratch" }
