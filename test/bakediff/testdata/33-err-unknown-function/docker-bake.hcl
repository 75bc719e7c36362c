target "app" { tags = [nosuch("x")] }
