target "app" {
  tags       = ["app:1", "app:2"]
  platforms  = ["linux/amd64"]
  secret     = ["id=a,env=A"]
  cache-to   = ["type=inline"]
  attest     = ["type=sbom"]
  annotations = ["index:a=1"]
}
