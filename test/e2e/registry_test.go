//go:build full

package e2e

import "shipyard/internal/testenv"

// what the end-to-end packages share about registries and repositories (internal/testenv)
var (
	hostRegistry   = testenv.HostRegistry
	mustDigest     = testenv.MustDigest
	tagRepo        = testenv.TagRepo
	indexPlatforms = testenv.IndexPlatforms
)
