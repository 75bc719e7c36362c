variable "NAME" { default = " My-App/Service " }
target "t" {
  args = {
    UPPER  = upper(NAME)
    LOWER  = lower(NAME)
    TRIM   = trimspace(NAME)
    TRIMP  = trimprefix(trimspace(NAME), "My-")
    TRIMS  = trimsuffix(trimspace(NAME), "Service")
    TRIMC  = trim("--x--", "-")
    SPLIT  = join("|", split("/", NAME))
    REPL   = replace(NAME, "/", "_")
    RE     = regex("[A-Z][a-z]+", NAME)
    REALL  = join(",", regexall("[A-Z]", NAME))
    RER    = regex_replace(NAME, "[^a-zA-Z]", "")
    SAN    = sanitize(NAME)
    SUBSTR = substr("abcdef", 1, 3)
    FMT    = format("%s-%03d", "v", 7)
    FMTL   = join(",", formatlist("x%s", ["a", "b"]))
    TITLE  = title("hello world")
    CHOMP  = chomp("line\n")
    INDENT = indent(2, "a\nb")
    STRLEN = strlen("héllo")
    BASE   = basename("/a/b/c.txt")
    DIR    = dirname("/a/b/c.txt")
    URL    = urlencode("a b&c")
  }
}
