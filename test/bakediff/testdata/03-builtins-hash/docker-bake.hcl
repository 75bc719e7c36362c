target "t" {
  args = {
    MD5    = md5("shipyard")
    SHA1   = sha1("shipyard")
    SHA256 = sha256("shipyard")
    SHA512 = sha512("shipyard")
    B64    = base64encode("shipyard")
    UNB64  = base64decode("c2hpcHlhcmQ=")
    UUID5  = uuidv5("dns", "shipyard.example")
    UUID5U = uuidv5("url", "https://x.example/")
  }
}
