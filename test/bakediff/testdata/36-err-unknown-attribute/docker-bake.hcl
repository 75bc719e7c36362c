target "app" { dockerfiel = "x" }
