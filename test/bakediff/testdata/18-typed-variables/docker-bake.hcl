variable "PORT" {
  type    = number
  default = 8080
}
variable "ARCHS" {
  type    = list(string)
  default = ["amd64"]
}
variable "LABELS" {
  type    = map(string)
  default = { team = "core" }
}
variable "DEBUG" {
  type = bool
}
variable "ANY" {
  type    = any
  default = "x"
}
variable "OBJ" {
  type    = object({ name = string, n = number })
  default = { name = "a", n = 1 }
}
target "t" {
  platforms = [for a in ARCHS : "linux/${a}"]
  labels    = LABELS
  args      = { PORT = PORT + 1, DEBUG = DEBUG == null ? "unset" : DEBUG, ANY = ANY, OBJ = "${OBJ.name}${OBJ.n}" }
}
