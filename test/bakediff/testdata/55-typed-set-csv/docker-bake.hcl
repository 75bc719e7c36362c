variable "PLATFORMS" {
  type    = list(string)
  default = []
}
variable "FLAGS" {
  type = set(string)
}
variable "PAIR" {
  type = tuple([string, number])
  default = ["a", 1]
}
target "app" {
  platforms = PLATFORMS
  args = { FLAGS = FLAGS == null ? "none" : join(",", FLAGS), PAIR = "${PAIR[0]}${PAIR[1]}" }
}
