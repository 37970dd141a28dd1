package wasmrun

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/shoalmesh/shoal/pkg/internal/preempt"
)

// Instrumented modules are kept on disk next to wazero's compilation cache,
// as CacheDir/instrumented/HEX.wasm (HEX the hash of the original bytes),
// so that a restarted worker neither rewrites a module nor, since wazero's
// cache is keyed by the bytes compiled, compiles it again. Each file ends
// with a custom section, sealName, holding the SHA-256 of the bytes before
// it: a damaged file, or one written by another version of the rewriting
// (whose seal has another name), is made again.

// instrumentedDir is the subdirectory of Config.CacheDir holding them.
const instrumentedDir = "instrumented"

// sealName names the trailing custom section, with the version of the
// rewriting's output (preempt.Version).
var sealName = "shoal.preempt.v" + strconv.Itoa(preempt.Version)

// instrumented returns wasm, whose hash is h, instrumented: from the disk
// when a sound copy is there, else rewritten now (and stored, if the Runner
// has a CacheDir; a failure to store it only costs a rewrite next time).
func (r *Runner) instrumented(h Hash, wasm []byte) ([]byte, error) {
	path := ""
	if r.cfg.CacheDir != "" {
		path = filepath.Join(r.cfg.CacheDir, instrumentedDir, h.String()+".wasm")
		if b, err := os.ReadFile(path); err == nil && sealed(b) {
			return b, nil
		}
	}
	out, err := preempt.Instrument(wasm)
	if err != nil {
		return nil, err
	}
	out = seal(out)
	if path != "" {
		_ = writeAtomic(path, out)
	}
	return out, nil
}

// sealTrailer is the custom section's id, size and name: the hash follows.
var sealTrailer = func() []byte {
	name := append([]byte{byte(len(sealName))}, sealName...)
	return append([]byte{0, byte(len(name) + sha256.Size)}, name...)
}()

// seal appends the custom section holding the SHA-256 of wasm.
func seal(wasm []byte) []byte {
	sum := sha256.Sum256(wasm)
	return append(append(wasm, sealTrailer...), sum[:]...)
}

// sealed says whether b ends with the seal of the bytes before it.
func sealed(b []byte) bool {
	n := len(b) - len(sealTrailer) - sha256.Size
	if n < len(wasmHeader) || !bytes.Equal(b[n:n+len(sealTrailer)], sealTrailer) {
		return false
	}
	sum := sha256.Sum256(b[:n])
	return bytes.Equal(sum[:], b[len(b)-sha256.Size:])
}

// writeAtomic writes b to path through a temporary file renamed into place,
// so that no reader sees part of it.
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
