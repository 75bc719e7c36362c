variable "M" { default = { b = "2", a = "1" } }
variable "L" { default = ["c", "a", "b", "a"] }
target "t" {
  tags = flatten([["x:1", "x:2"], [], ["x:3"]])
  args = {
    KEYS     = join(",", keys(M))
    VALUES   = join(",", values(M))
    MERGE    = jsonencode(merge(M, { c = "3" }))
    LOOKUP   = lookup(M, "a", "none")
    LOOKUPD  = lookup(M, "z", "none")
    LEN      = length(L)
    CONTAINS = contains(L, "b")
    DISTINCT = join(",", distinct(L))
    SORT     = join(",", sort(L))
    REVERSE  = join(",", reverselist(L))
    REVSTR   = reverse("abc")
    ELEMENT  = element(L, 5)
    INDEX    = index(L, 1)
    INDEXOF  = indexof(L, "b")
    SLICE    = join(",", slice(L, 1, 3))
    CONCAT   = join(",", concat(L, ["z"]))
    COMPACT  = join(",", compact(["a", "", "b"]))
    COAL     = coalesce("", "second")
    COALL    = join(",", coalescelist([], ["y"]))
    CHUNK    = jsonencode(chunklist(L, 3))
    ZIP      = jsonencode(zipmap(["k1", "k2"], ["v1", "v2"]))
    RANGE    = jsonencode(range(3))
    SETU     = jsonencode(setunion(["a"], ["b"]))
    SETI     = jsonencode(setintersection(["a", "b"], ["b"]))
    SETS     = jsonencode(setsubtract(["a", "b"], ["b"]))
    SETP     = length(setproduct(["a", "b"], ["1", "2"]))
    HASIDX   = hasindex(L, 1)
  }
}
