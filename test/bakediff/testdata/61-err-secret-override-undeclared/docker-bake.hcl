target "app" { secret = ["id=a,env=A"] }
