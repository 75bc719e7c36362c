variable "TAG" {
  default = "1.2.3"
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", TAG))
    error_message = "TAG must be a semantic version, got ${TAG}."
  }
}
target "app" { tags = ["app:${TAG}"] }
