# bake's built-in variables, and a file that tries to redefine one (bake keeps the built-in)
variable "BAKE_LOCAL_PLATFORM" { default = "windows/amd64" }
variable "ARCH" { default = BAKE_LOCAL_PLATFORM }
target "app" {
  context   = BAKE_CMD_CONTEXT
  contexts  = { lib = "${BAKE_CMD_CONTEXT}lib" }
  platforms = [BAKE_LOCAL_PLATFORM]
  args      = { PLATFORM = BAKE_LOCAL_PLATFORM, ARCH = ARCH, CTX = BAKE_CMD_CONTEXT }
}
target "sub" {
  context = "${BAKE_CMD_CONTEXT}services/api"
}
