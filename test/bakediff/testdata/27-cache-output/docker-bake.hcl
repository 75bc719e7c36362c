target "base" {
  cache-from = ["user/app:cache", "type=local,src=/tmp/cache"]
  cache-to   = ["type=inline"]
  output     = ["type=image,push=true"]
}
target "app" {
  inherits   = ["base"]
  cache-from = [{ type = "gha", scope = "app" }, "user/app:cache", ""]
  cache-to   = ["type=registry,ref=user/app:cache,mode=max"]
  output     = ["type=local,dest=out", "-", "./dir"]
}
