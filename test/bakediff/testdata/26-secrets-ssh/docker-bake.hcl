target "base" {
  secret = ["id=npmrc,src=${homedir()}/.npmrc", "id=token,env=GITHUB_TOKEN"]
  ssh    = ["default"]
}
target "app" {
  inherits = ["base"]
  secret = [
    "id=token,env=OTHER_TOKEN",
    { id = "aws", src = "/run/aws" },
    "type=env,id=plain,src=PLAIN",
  ]
  ssh = ["key=/a/id_rsa,/b/id_ed25519", { id = "other", paths = ["/p"] }]
}
