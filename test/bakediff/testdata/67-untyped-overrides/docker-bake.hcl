variable "N" { default = 1 }
variable "B" { default = false }
variable "S" {}
variable "U" {}
target "app" {
  args = { N = N + 1, B = B ? "yes" : "no", S = S, U = U, PRICE = 1.50, BIG = 10000000 }
}
