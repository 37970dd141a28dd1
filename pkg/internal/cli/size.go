package cli

import (
	"fmt"

	"github.com/shoalmesh/shoal/pkg/api"
)

// parseSize reads a positive size flag like 512MiB or 4GiB.
func parseSize(s string) (uint64, error) {
	n, err := api.ParseBytes(s)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a positive size like 512MiB or 4GiB", s)
	}
	return n, nil
}
