package backend

import (
	"fmt"
	"slices"
	"strconv"
)

// checkID refuses a machine id that could not name a directory under the
// backend's root or a container: path separators, "..", or a leading dot
// would escape Dir or be refused by docker.
func checkID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("machine id %q: want 1 to 64 characters", id)
	}
	for i, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '-' || r == '_' || r == '.'):
		default:
			return fmt.Errorf("machine id %q: want letters, digits, and - _ . after the first", id)
		}
	}
	return nil
}

// workerArgs is the part of `shoal worker`'s command line every backend
// gives: the gateway to dial, no discovery (the gateway is known), and
// what the spec offers, with the machine's label. The join token is not here: each backend hands
// it over in a file, away from argv.
func workerArgs(id string, spec WorkerSpec, tokenFile string) []string {
	args := []string{"worker", "--dial", spec.Gateway, "--join-token-file", tokenFile, "--discover", "none"}
	if spec.Namespace != "" {
		args = append(args, "--ns", spec.Namespace)
	}
	labels := spec.Labels
	if !slices.Contains(labels, MachineLabel(id)) { // the gateway knows the machine by it
		labels = append(slices.Clip(labels), MachineLabel(id))
	}
	for _, l := range labels {
		args = append(args, "--label", l)
	}
	if spec.Slots > 0 {
		args = append(args, "--slots", strconv.Itoa(spec.Slots))
	}
	if spec.Memory > 0 {
		args = append(args, "--memory", strconv.FormatUint(spec.Memory, 10))
	}
	return args
}

// checkSpec refuses a spec a worker would refuse only after it started,
// so that Start's error says it.
func checkSpec(id string, spec WorkerSpec) error {
	switch {
	case spec.Gateway == "":
		return fmt.Errorf("machine %s: no gateway address", id)
	case spec.JoinToken == "":
		return fmt.Errorf("machine %s: no join token", id)
	case spec.Slots < 0:
		return fmt.Errorf("machine %s: slots %d < 0", id, spec.Slots)
	}
	return nil
}
