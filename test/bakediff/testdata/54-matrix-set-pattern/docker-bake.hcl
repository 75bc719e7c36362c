variable "SERVICES" { default = ["api", "worker"] }
group "default" { targets = ["svc"] }
target "svc" {
  name   = "svc-${s}"
  matrix = { s = SERVICES }
  context = s
  tags   = ["${s}:dev"]
}
