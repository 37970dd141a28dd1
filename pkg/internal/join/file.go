package join

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/peer"
)

// File is the name of the gateway's token file in its data directory.
const File = "join-token"

// LoadOrCreate returns the token of gateway self kept in dataDir/join-token,
// making one (mode 0600) on the first start; created says it did. A file
// that holds another gateway's token (a data directory copied next to a new
// identity) is an error: workers holding it would refuse this gateway.
func LoadOrCreate(dataDir string, self peer.ID) (t Token, created bool, err error) {
	path := filepath.Join(dataDir, File)
	t, err = ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if t, err = New(self); err != nil {
			return Token{}, false, err
		}
		if err = create(path, t); errors.Is(err, fs.ErrExist) {
			t, err = ReadFile(path) // another process won the race
		} else if err == nil {
			created = true
		}
	}
	if err != nil {
		return Token{}, false, err
	}
	if t.Gateway != self {
		return Token{}, false, fmt.Errorf("%s is the join token of gateway %s, not of this one (%s): move it away to make a new one, and give workers the new token", path, t.Gateway, self)
	}
	return t, created, nil
}

// ReadFile reads a token from a file that holds it alone (white space
// around it is ignored). Errors name the file.
func ReadFile(path string) (Token, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Token{}, fmt.Errorf("read join token: %w", err)
	}
	t, err := Parse(string(b))
	if err != nil {
		return Token{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// create writes t to path, which must not exist, readable by its owner
// only: the token is the cluster's secret.
func create(path string, t Token) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create join token: %w", err)
	}
	_, err = f.WriteString(t.String() + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write join token: %w", err)
	}
	return nil
}

// Export writes t to path (mode 0600), replacing what is there, for
// workers that read it from a shared volume (shoal gateway
// --export-join-token). It writes a temporary file and renames it, so a
// reader never sees half a token.
func Export(path string, t Token) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("export join token: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(t.String() + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("export join token: %w", err)
	}
	return nil
}
