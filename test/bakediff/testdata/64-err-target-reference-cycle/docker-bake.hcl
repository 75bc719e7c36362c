target "a" { tags = target.b.tags }
target "b" { tags = target.a.tags }
