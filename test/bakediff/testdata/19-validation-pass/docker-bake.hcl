variable "TAG" {
  default = "1.2.3"
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", TAG))
    error_message = "TAG must be a semantic version."
  }
  validation {
    condition     = TAG != "0.0.0"
    error_message = "TAG must not be 0.0.0."
  }
}
target "app" { tags = ["app:${TAG}"] }
