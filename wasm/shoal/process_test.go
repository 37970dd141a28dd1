package shoal_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/wasm/shoal"
)

// Built natively, every call fails with ErrUnsupported and says why.
func TestNativeUnsupported(t *testing.T) {
	_, spawnErr := shoal.Spawn(shoal.SpawnOptions{Args: []string{"child"}})
	_, recvErr := shoal.Parent().Recv()
	_, waitErr := shoal.Parent().Wait()
	for _, tc := range []struct {
		name, op string
		err      error
	}{
		{"spawn", "shoal: spawn: ", spawnErr},
		{"send", "shoal: send to parent: ", shoal.Parent().Send([]byte("x"))},
		{"recv", "shoal: recv from parent: ", recvErr},
		{"close", "shoal: close parent: ", shoal.Parent().Close()},
		{"wait", "shoal: wait for parent: ", waitErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, shoal.ErrUnsupported) {
				t.Fatalf("err = %v, want ErrUnsupported", tc.err)
			}
			var e *shoal.Error
			if !errors.As(tc.err, &e) || e.Detail == "" {
				t.Fatalf("err = %#v, want an *Error with the host's text", tc.err)
			}
			if msg := tc.err.Error(); !strings.HasPrefix(msg, tc.op+"processes unsupported: ") || !strings.Contains(msg, "GOOS=wasip1") {
				t.Errorf("message %q", msg)
			}
		})
	}
	if got := shoal.Self(); got != "" {
		t.Errorf("Self() = %q, want \"\"", got)
	}
}

func TestErrorWithoutDetail(t *testing.T) {
	err := &shoal.Error{Op: "recv from child 2", Err: shoal.ErrTimeout}
	if got, want := err.Error(), "shoal: recv from child 2: timed out"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
