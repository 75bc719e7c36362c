# goapp's images. The pipeline builds the "default" group, once per platform listed (linux/arm64
# only when it is asked for), and merges each image's platforms into one multi-arch index.
# docker-bake.override.hcl, next to this file, is read after it (as buildx does).

variable "REGISTRY" {
  default = "127.0.0.1:5000/goapp"
}

variable "TAG" {
  default = "dev"
}

variable "GIT_COMMIT" {
  default = "unknown"
}

# image is where a target's image goes: REGISTRY/NAME:TAG.
function "image" {
  params = [name]
  result = "${REGISTRY}/${name}:${TAG}"
}

group "default" {
  targets = ["app"]
}

# Labels every image carries.
target "_common" {
  labels = {
    "org.opencontainers.image.version"  = TAG
    "org.opencontainers.image.revision" = GIT_COMMIT
    "org.opencontainers.image.vendor"   = "goapp"
  }
}

# One image per command: api (the HTTP service) and hitctl (its client). The block's label
# "app" is the group of the two.
target "app" {
  name      = cmd
  matrix    = { cmd = ["api", "hitctl"] }
  inherits  = ["_common"]
  target    = "runtime"
  tags      = [image(cmd)]
  platforms = ["linux/amd64", "linux/arm64"]
  args = {
    CMD     = cmd
    VERSION = TAG
  }
  labels = {
    "org.opencontainers.image.title" = "goapp-${cmd}"
  }
}

# The test stage's images (shipyard.hcl): the tests, and the Redis server they run against.
target "test" {
  target    = "test"
  tags      = [image("test")]
  platforms = ["linux/amd64"]
}

target "redis" {
  inherits  = ["_common"]
  context   = "redis"
  tags      = [image("redis")]
  platforms = ["linux/amd64"]
}
