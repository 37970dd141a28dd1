package httpapi_test

import (
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
)

// FuzzParseTokens: any token file either parses into uniquely named
// tokens or is refused with an error; nothing panics.
func FuzzParseTokens(f *testing.F) {
	f.Add("alice " + aliceToken + " max-running=2 max-queued=100 # laptop\n" + bobToken + "\n")
	f.Add("# only a comment\n")
	f.Add("a " + aliceToken + " max-running=99999999999999999999\n")
	f.Add(aliceToken + " max-queued=1\n")
	f.Fuzz(func(t *testing.T, file string) {
		tk, err := httpapi.ParseTokens(strings.NewReader(file))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		names := map[string]bool{}
		for _, n := range tk.Names() {
			if names[n] || n == "" {
				t.Fatalf("names %v", tk.Names())
			}
			names[n] = true
		}
		for n, q := range tk.Quotas() {
			if !names[n] || q.MaxRunning < 0 || q.MaxQueued < 0 {
				t.Fatalf("quota %s %+v", n, q)
			}
		}
	})
}
