variable "CFG" { default = "{\"name\":\"api\",\"replicas\":3,\"tags\":[\"a\",\"b\"]}" }
target "t" {
  args = {
    NAME  = jsondecode(CFG).name
    REPL  = jsondecode(CFG).replicas * 2
    TAGS  = join("+", jsondecode(CFG).tags)
    ENC   = jsonencode({ a = 1, b = [true, null] })
    MAX   = max(3, 9, 2)
    MIN   = min(3, 9, 2)
    CEIL  = ceil(1.2)
    FLOOR = floor(1.8)
    ABS   = absolute(-4)
    POW   = pow(2, 10)
    LOG   = log(8, 2)
    SIGN  = signum(-3)
    PINT  = parseint("ff", 16)
    INT   = int(4.9)
    MOD   = 7 % 3
    ADD   = add(1, 2)
    SUB   = subtract(5, 2)
    MUL   = multiply(2, 3)
    DIV   = divide(9, 3)
    NEG   = negate(5)
    GT    = greaterthan(2, 1)
    LTE   = lessthanorequalto(2, 2)
    CSV   = jsonencode(csvdecode("a,b\n1,2\n"))
  }
}
