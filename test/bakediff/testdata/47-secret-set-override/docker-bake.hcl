target "app" { secret = ["id=token,env=A"] }
