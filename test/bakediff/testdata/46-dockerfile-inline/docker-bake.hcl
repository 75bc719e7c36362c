target "base" {
  dockerfile-inline = <<-EOT
    FROM scratch
    COPY ${"$"}{V} /v
  EOT
}
target "app" {
  inherits   = ["base"]
  dockerfile = "Other.Dockerfile"
}
target "replaced" {
  inherits          = ["base"]
  dockerfile-inline = "FROM busybox"
}
target "plain" { dockerfile-inline = "FROM scratch" }
