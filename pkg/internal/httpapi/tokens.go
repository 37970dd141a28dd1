package httpapi

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
)

// Tokens are the bearer tokens the API accepts: the parsed form of a token
// file (shoal gateway --api-token-file). It is immutable; a reload makes a
// new one (Server.SetTokens).
//
// The file has one token a line:
//
//	# comment
//	NAME TOKEN [max-running=N] [max-queued=M] [max-stored=SIZE] [role=owner|admin]
//	TOKEN
//
// A token alone is named by its position among the tokens of the file,
// token-1, token-2, ... The name is the owner of the tasks submitted with
// the token, and the quotas bound that owner's runs (gateway.Quota). A
// token's role is owner unless it says admin: an owner sees, follows and
// cancels only its own tasks; an admin sees all, and the metrics. Blank
// lines and lines starting with # are skipped; a field starting with #
// starts a comment to the end of the line.
type Tokens struct {
	list []tokenEntry
}

type tokenEntry struct {
	name  string
	quota gateway.Quota
	admin bool // role=admin: sees every owner's tasks
	// sum is the token's SHA-256: lookups compare fixed-length digests in
	// constant time, so a comparison tells nothing about a token's length
	// or its first differing byte.
	sum [sha256.Size]byte
}

// MinTokenLen is the shortest token a token file may hold: a token is a
// password that clients send on every request, and a short one can be
// guessed.
const MinTokenLen = 16

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// LoadTokens reads the token file at path; errors name the file and line.
func LoadTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ParseTokens(f)
	var le *lineError
	switch {
	case errors.As(err, &le):
		return nil, fmt.Errorf("%s:%d: %w", path, le.line, le.err)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// lineError is an error about one line of a token file.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

// ParseTokens reads a token file; errors name the line.
func ParseTokens(r io.Reader) (*Tokens, error) {
	t := &Tokens{}
	names := map[string]bool{}
	sums := map[[sha256.Size]byte]string{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		for i, f := range fields {
			if strings.HasPrefix(f, "#") {
				fields = fields[:i]
				break
			}
		}
		if len(fields) == 0 {
			continue
		}
		e, secret, err := parseTokenLine(fields, len(t.list)+1)
		if err != nil {
			return nil, &lineError{line, err}
		}
		if names[e.name] {
			return nil, &lineError{line, fmt.Errorf("the name %s is given twice; each token needs its own name", e.name)}
		}
		e.sum = sha256.Sum256([]byte(secret))
		if other, ok := sums[e.sum]; ok {
			return nil, &lineError{line, fmt.Errorf("token %s is the same as token %s; each token must differ", e.name, other)}
		}
		names[e.name], sums[e.sum] = true, e.name
		t.list = append(t.list, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.list) == 0 {
		return nil, errors.New("no tokens: every request would be refused; add a line `NAME TOKEN` (make a token with `openssl rand -hex 32`)")
	}
	return t, nil
}

var quotaKeys = []string{"max-running", "max-queued", "max-stored", "role"}

// The roles a token may have.
const (
	RoleOwner = "owner" // its own tasks only (the default)
	RoleAdmin = "admin" // every task, and the metrics
)

func parseTokenLine(fields []string, pos int) (tokenEntry, string, error) {
	e := tokenEntry{name: "token-" + strconv.Itoa(pos)}
	secret := fields[0]
	if len(fields) > 1 {
		e.name, secret = fields[0], fields[1]
		for _, k := range quotaKeys {
			if strings.HasPrefix(secret, k+"=") {
				return e, "", fmt.Errorf("%s is not a token: a token with limits needs a name, as in `NAME TOKEN %s`", secret, secret)
			}
		}
		if !namePattern.MatchString(e.name) {
			return e, "", fmt.Errorf("name %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", e.name)
		}
	}
	if err := checkSecret(secret); err != nil {
		return e, "", fmt.Errorf("token %s: %w", e.name, err)
	}
	seen := map[string]bool{}
	for _, opt := range fields[min(2, len(fields)):] {
		k, v, _ := strings.Cut(opt, "=")
		if seen[k] {
			return e, "", fmt.Errorf("token %s: %s given twice", e.name, k)
		}
		seen[k] = true
		var dst *int
		switch k {
		case "max-running":
			dst = &e.quota.MaxRunning
		case "max-queued":
			dst = &e.quota.MaxQueued
		case "max-stored":
			n, err := api.ParseBytes(v)
			if err != nil || n < 1 || n > math.MaxInt64 {
				return e, "", fmt.Errorf("token %s: max-stored=%s: want a size such as 500MiB or 10GB", e.name, v)
			}
			e.quota.MaxStored = int64(n)
			continue
		case "role":
			if v != RoleOwner && v != RoleAdmin {
				return e, "", fmt.Errorf("token %s: role=%s: want role=%s (its own tasks only, the default) or role=%s (every task)", e.name, v, RoleOwner, RoleAdmin)
			}
			e.admin = v == RoleAdmin
			continue
		default:
			return e, "", fmt.Errorf("token %s: unknown field %q; want max-running=N, max-queued=N, max-stored=SIZE or role=%s", e.name, opt, RoleAdmin)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return e, "", fmt.Errorf("token %s: %s=%s: want a whole number of runs, at least 1", e.name, k, v)
		}
		*dst = n
	}
	return e, secret, nil
}

func checkSecret(s string) error {
	if len(s) < MinTokenLen {
		return fmt.Errorf("shorter than %d characters; make one with `openssl rand -hex 32`", MinTokenLen)
	}
	for _, c := range []byte(s) {
		if c < 0x21 || c > 0x7e {
			return errors.New("only printable ASCII may be in a token, as it is sent in an HTTP header")
		}
	}
	return nil
}

// Len is the number of tokens.
func (t *Tokens) Len() int { return len(t.list) }

// Names lists the tokens' names in file order.
func (t *Tokens) Names() []string {
	out := make([]string, len(t.list))
	for i, e := range t.list {
		out[i] = e.name
	}
	return out
}

// Quotas returns the limits of the tokens that have any, by name: the
// gateway's per-owner quotas (gateway.Config.Quotas, Gateway.SetQuotas).
func (t *Tokens) Quotas() map[string]gateway.Quota {
	out := map[string]gateway.Quota{}
	for _, e := range t.list {
		if e.quota != (gateway.Quota{}) {
			out[e.name] = e.quota
		}
	}
	return out
}

// Admins lists the names of the tokens of role admin, in file order.
func (t *Tokens) Admins() []string {
	var out []string
	for _, e := range t.list {
		if e.admin {
			out = append(out, e.name)
		}
	}
	return out
}

// lookup returns who holds the token secret. It compares the secret's
// digest with every token's, always all of them, in constant time: how
// long it takes says nothing about which token, or which part of one, a
// guess got right.
func (t *Tokens) lookup(secret string) (principal, bool) {
	sum := sha256.Sum256([]byte(secret))
	found := -1
	for i := range t.list {
		match := subtle.ConstantTimeCompare(sum[:], t.list[i].sum[:])
		found = subtle.ConstantTimeSelect(match, i, found)
	}
	if found < 0 {
		return principal{}, false
	}
	return principal{name: t.list[found].name, admin: t.list[found].admin}, true
}
