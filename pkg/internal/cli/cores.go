package cli

import "github.com/shoalmesh/shoal/pkg/api"

// coresFlag is a number of cores as the API reads it (api.ParseCores).
type coresFlag api.Millicores

func (f *coresFlag) String() string { return api.Millicores(*f).String() }

func (f *coresFlag) Set(x string) error {
	c, err := api.ParseCores(x)
	*f = coresFlag(c)
	return err
}
