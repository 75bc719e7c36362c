target "app" { secret = ["id=x,bogus=1"] }
