variable "ENV" { default = "prod" }
variable "REPLICAS" {
  default = 3
  validation {
    condition     = ENV != "prod" || REPLICAS >= 2
    error_message = "prod needs at least two replicas"
  }
}
target "app" { args = { R = REPLICAS, E = ENV } }
