variable "PORT" {
  type = number
  default = 1
}
target "app" { args = { P = PORT } }
