variable "V" { default = "2" }
target "first" {
  args = { FROM_LATER = target.later.target, SELF = "${target.first.context}-x" }
  context = "ctx"
}
target "later" {
  target = "stage-${V}"
}
