variable "V" { default = "1.2.3" }
variable "EMPTY" { default = "" }
target "t" {
  args = {
    EQ     = equal(V, "1.2.3")
    NE     = notequal(V, "1.2.3")
    AND    = and(true, false)
    OR     = or(true, false)
    NOT    = not(false)
    SEMVER = semvercmp(V, ">= 1.2.0")
    SEMVN  = semvercmp(V, "< 1.0.0")
    CAN    = can(regex("^[0-9]+$", V))
    TRY    = try(jsondecode("not json"), "fallback")
    TRY2   = try(jsondecode("{\"a\": 5}").a, 0)
    COND   = EMPTY == "" ? "empty" : "set"
    TERN   = length(split(".", V)) == 3 ? "three" : "other"
    CONV   = convert("5", number) + 1
  }
}
