# Read after docker-bake.hcl, as buildx reads docker-bake.override.hcl when it picks the files
# itself (shipyard reads it the same way): what this checkout changes without editing the main
# file. Blocks merge with the main file's, later values winning: every image's vendor label.
target "_common" {
  labels = {
    "org.opencontainers.image.vendor" = "goapp example (docker-bake.override.hcl)"
  }
}
