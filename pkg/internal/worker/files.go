package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/api"
)

// filePiece is the most bytes of an artifact sent in one call.
const filePiece = 1 << 20

// sendFiles sends the regular files under dir to events, in the order
// WalkDir finds them, up to max bytes in all; it returns how many it sent
// and how many it left out: those past max, and what is not a regular
// file (a job's sandbox lets it make neither links nor devices, but a
// file could be swapped for one on the host).
func sendFiles(ctx context.Context, dir string, limit uint64, events wire.JobEvents) (sent, left int, err error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, 0, err
	}
	defer root.Close()
	var total uint64
	buf := make([]byte, filePiece)
	walkErr := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() {
			left++
			return nil
		}
		size := uint64(info.Size())
		if total+size > limit || sent == api.MaxJobFileCount {
			left++
			return nil
		}
		if err := sendFile(ctx, root, p, size, buf, events); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		total += size
		sent++
		return nil
	})
	return sent, left, walkErr
}

// sendFile sends one file of size bytes in pieces, waiting for each answer
// (the gateway holds what it receives, so it sets the pace).
func sendFile(ctx context.Context, root *os.Root, p string, size uint64, buf []byte, events wire.JobEvents) error {
	f, err := root.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	var off uint64
	for {
		n, rerr := io.ReadFull(f, buf)
		if n > 0 || off == 0 {
			if off+uint64(n) > size {
				return errors.New("it grew while it was sent")
			}
			fut, release := events.File(ctx, func(c wire.JobEvents_file_Params) error {
				if err := c.SetPath(filepath.ToSlash(p)); err != nil {
					return err
				}
				c.SetSize(size)
				c.SetOffset(off)
				return c.SetData(buf[:n])
			})
			_, err := fut.Struct()
			release()
			if err != nil {
				return err
			}
			off += uint64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			if off != size {
				return errors.New("it shrank while it was sent")
			}
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}
