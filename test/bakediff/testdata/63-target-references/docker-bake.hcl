target "base" {
  context   = "base"
  tags      = ["base:1", "base:latest"]
  args      = { A = "1" }
  platforms = ["linux/amd64"]
}
target "app" {
  tags      = [for t in target.base.tags : replace(t, "base", "app")]
  args      = merge(target.base.args, { B = target.base.context, N = target.app.dockerfile == null ? "none" : "x" })
  platforms = concat(target.base.platforms, ["linux/arm64"])
  labels    = { from = target.base.name }
}
