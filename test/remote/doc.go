// Package remote holds the tests that prove the remote-engine path end to end: a Dagger client on
// this host drives a second engine (hack/remote-engine, "the EC2 ARM instance's engine") through a
// real sshd, runs amd64 and arm64 containers on it, publishes from it to a registry the host also
// reads, and reports an unreachable remote instead of silently waiting.
//
// The tests need `hack/engine up`, `hack/remote-engine up` and both env outputs:
//
//	eval "$(hack/engine env)"; eval "$(hack/remote-engine env)"; go test ./test/remote/
//
// Without a remote engine they fail (never skip) and say so.
package remote
