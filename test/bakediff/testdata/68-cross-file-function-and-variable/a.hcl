target "app" { tags = [img("app")] }
