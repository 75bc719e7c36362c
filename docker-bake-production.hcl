# Production images of the reference app. The CI builds every target of the "default" group, once
# per platform listed, then merges each image's platforms into one multi-arch index.
# Tags: "${REGISTRY}/<name>:${TAG}". Contexts are relative to the repository root.

variable "REGISTRY" {
  default = "127.0.0.1:5000/shipyard"
}

variable "TAG" {
  default = "dev"
}

# Where the images' source lives and which commit made them (OCI labels; the CI sets both).
variable "SOURCE_URL" {
  default = "https://git.example.test/shipyard/shipyard"
}

variable "GIT_COMMIT" {
  default = "unknown"
}

group "default" {
  targets = ["postgres", "traefik", "watchtower", "django"]
}

# Labels every image carries; each target inherits them.
target "_common" {
  dockerfile = "Dockerfile"
  labels = {
    "org.opencontainers.image.source"   = SOURCE_URL
    "org.opencontainers.image.revision" = GIT_COMMIT
    "org.opencontainers.image.version"  = TAG
    "org.opencontainers.image.vendor"   = "shipyard"
    "org.opencontainers.image.licenses" = "UNLICENSED"
  }
}

target "postgres" {
  inherits  = ["_common"]
  context   = "services/postgres"
  tags      = ["${REGISTRY}/postgres:${TAG}"]
  # No watchtower label: the database is updated deliberately, not by a poller.
  platforms = ["linux/amd64"]
}

target "traefik" {
  inherits  = ["_common"]
  context   = "services/traefik"
  tags      = ["${REGISTRY}/traefik:${TAG}"]
  platforms = ["linux/amd64", "linux/arm64"]
  labels = {
    "com.centurylinklabs.watchtower.enable" = "true"
  }
}

target "watchtower" {
  inherits  = ["_common"]
  context   = "services/watchtower"
  tags      = ["${REGISTRY}/watchtower:${TAG}"]
  platforms = ["linux/amd64", "linux/arm64"]
  args = {
    POLL_INTERVAL = "300"
  }
}

# What the app's two images share: the context, the platforms and the build arguments.
# Platforms are what an image supports: the pipeline builds linux/amd64, plus the ARM platforms
# when they are enabled, and never a platform an image does not list.
target "_django" {
  inherits  = ["_common"]
  context   = "services/django"
  platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
  args = {
    APP_VERSION      = TAG
    APP_UID          = "10001"
    GUNICORN_WORKERS = "2"
  }
}

# The Vue front end's built assets, on their own (a scratch image of static files). django takes
# them as the named context "frontend-dist", so they are built once for every platform.
target "frontend" {
  context    = "services/django"
  dockerfile = "Dockerfile"
  target     = "frontend-dist"
}

target "django" {
  inherits = ["_django"]
  target   = "runtime"
  tags     = ["${REGISTRY}/django:${TAG}"]
  contexts = {
    frontend-dist = "target:frontend"
  }
  labels = {
    "com.centurylinklabs.watchtower.enable"                          = "true"
    "traefik.enable"                                                 = "true"
    "traefik.http.routers.django.rule"                               = "PathPrefix(`/`)"
    "traefik.http.routers.django.entrypoints"                        = "websecure"
    "traefik.http.services.django.loadbalancer.server.port"          = "8000"
    "traefik.http.services.django.loadbalancer.healthcheck.path"     = "/healthz"
    # A host name the app allows by default (DJANGO_ALLOWED_HOSTS), not the container's address.
    "traefik.http.services.django.loadbalancer.healthcheck.hostname" = "localhost"
  }
}

# The app's test image (runtime + pytest and the tests). Not in "default": the CI's test stage
# builds it and runs it next to a postgres service with DATABASE_* set.
target "django-test" {
  inherits = ["_django"]
  target   = "test"
  tags     = ["${REGISTRY}/django-test:${TAG}"]
}
