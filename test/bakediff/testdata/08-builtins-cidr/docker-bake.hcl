target "t" {
  args = {
    HOST    = cidrhost("10.12.112.0/20", 16)
    HOSTNEG = cidrhost("10.12.112.0/20", -2)
    HOST6   = cidrhost("fd00:fd12:3456:7890::/56", 34)
    MASK    = cidrnetmask("172.16.0.0/12")
    SUB     = cidrsubnet("172.16.0.0/12", 4, 2)
    SUB6    = cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)
    SUBS    = join(",", cidrsubnets("10.1.0.0/16", 4, 4, 8, 4))
  }
}
