// Package version holds the one version string of shoal: what `shoal
// version` prints, the gateway reports in /info and a worker sends in its
// offers.
package version

// Version is "dev" unless the linker sets it: `make build` (and the e2e
// test's build) pass
//
//	-ldflags "-X github.com/shoalmesh/shoal/pkg/internal/version.Version=$(git describe --tags --always --dirty)"
//
// so a binary built from a git checkout names its commit.
var Version = "dev"
