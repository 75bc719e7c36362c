target "base" {
  annotations     = ["index:org.opencontainers.image.vendor=acme"]
  no-cache-filter = ["deps"]
  ulimits         = ["nofile=1024:1024"]
  entitlements    = ["security.insecure"]
  extra-hosts     = { "db.local" = "10.0.0.2" }
  attest          = ["type=sbom"]
}
target "app" {
  inherits        = ["base"]
  description     = "the app"
  annotations     = ["manifest:org.opencontainers.image.title=app", "index:org.opencontainers.image.vendor=acme"]
  attest          = ["type=provenance,mode=max", { type = "sbom", disabled = "true" }]
  no-cache        = true
  no-cache-filter = ["build", "deps"]
  pull            = true
  call            = "check"
  network         = "host"
  shm-size        = "128m"
  ulimits         = ["nproc=512"]
  extra-hosts     = { "api.local" = "10.0.0.3" }
}
