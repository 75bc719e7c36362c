target "t" {
  args = {
    FMT   = formatdate("YYYY-MM-DD hh:mm", "2024-03-05T07:08:09Z")
    FMTTS = formattimestamp("YYYY/MM/DD", 1700000000)
    FMTX  = formattimestamp("X", "2024-03-05T07:08:09Z")
    ADD   = timeadd("2024-03-05T07:08:09Z", "36h")
    PARSE = unixtimestampparse(1700000000).rfc3339
    WEEK  = unixtimestampparse(1700000000).iso_week
    HASTS = can(formatdate("YYYY", timestamp()))
  }
}
