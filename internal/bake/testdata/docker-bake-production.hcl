# Production images of the shipyard web app, in the shape the CI builds them.

variable "REGISTRY" {
  default = "127.0.0.1:5000"
}

variable "IMAGE_PREFIX" {
  default = "shipyard"
}

variable "TAG" {
  default = "dev"
}

variable "PYTHON_VERSION" {
  description = "Python used by the Django image"
  default     = "3.12"
}

variable "PUSH_LATEST" {
  default = false
}

variable "IMAGE_BASE" {
  default = "${REGISTRY}/${IMAGE_PREFIX}"
}

group "default" {
  targets = ["postgres", "traefik", "watchtower", "django"]
}

group "proxy" {
  targets = ["traefik", "watchtower"]
}

group "all" {
  targets = ["default", "proxy", "frontend"]
}

target "_common" {
  labels = {
    "org.opencontainers.image.vendor"  = "shipyard"
    "org.opencontainers.image.version" = TAG
  }
  platforms = ["linux/amd64", "linux/arm64"]
}

target "postgres" {
  inherits = ["_common"]
  context  = "docker/postgres"
  tags     = ["${IMAGE_BASE}/postgres:${TAG}"]
  labels = {
    "org.opencontainers.image.title" = "postgres"
  }
}

target "traefik" {
  inherits = ["_common"]
  context  = "docker/traefik"
  tags     = ["${IMAGE_BASE}/traefik:${TAG}"]
}

target "watchtower" {
  inherits  = ["_common"]
  context   = "docker/watchtower"
  tags      = ["${IMAGE_BASE}/watchtower:${TAG}"]
  platforms = ["linux/amd64", "linux/arm64/v8", "linux/arm"]
}

target "frontend" {
  context    = "frontend"
  dockerfile = "docker/Dockerfile"
  target     = "build"
  args = {
    NODE_ENV = "production"
  }
}

target "django" {
  inherits   = ["_common"]
  context    = "backend"
  dockerfile = "docker/django/Dockerfile"
  target     = "production"
  args = {
    PYTHON_VERSION = PYTHON_VERSION
    BUILD_TAG      = upper(TAG)
    WORKERS        = 4
    DEBUG          = PUSH_LATEST ? "0" : "1"
  }
  contexts = {
    frontend = "target:frontend"
    python   = "docker-image://${REGISTRY}/mirror/python:${PYTHON_VERSION}-slim"
  }
  tags = concat(
    ["${IMAGE_BASE}/django:${TAG}"],
    PUSH_LATEST ? ["${IMAGE_BASE}/django:latest"] : [],
  )
  labels = {
    "org.opencontainers.image.title"   = "django"
    "org.opencontainers.image.version" = lower(join("-", split(".", "V${TAG}")))
  }
}
