package gateway

import (
	"archive/tar"
	"errors"
	"io"
	"strings"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// PutBundle deploys the files of the tar archive r under name (PUT
// /bundles/{name}): a task with bundle=name runs in a fresh working
// directory holding them. It replaces what name held. Only regular files
// and directories may be in the archive, at most api.MaxJobFileCount
// files, each path clean and relative.
func (g *Gateway) PutBundle(name string, r io.Reader) (api.Bundle, error) {
	if !api.ValidBundleName(name) {
		return api.Bundle{}, api.Invalid("name", "%q: a name is 1-%d of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", name, api.MaxModuleName)
	}
	tr := tar.NewReader(r)
	var files []store.Artifact
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return api.Bundle{}, tarError(err)
		}
		p := strings.TrimPrefix(h.Name, "./")
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		default:
			return api.Bundle{}, api.Invalid("body", "%s: only regular files and directories may be deployed", h.Name)
		}
		if !task.ValidInputPath(p) {
			return api.Bundle{}, api.Invalid("body", "%q: a path inside the directory, relative and clean", h.Name)
		}
		if len(files) == api.MaxJobFileCount {
			return api.Bundle{}, api.Invalid("body", "more than %d files", api.MaxJobFileCount)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return api.Bundle{}, tarError(err)
		}
		files = append(files, store.Artifact{Path: p, Data: data})
	}
	if err := g.st.PutBundle(name, files); err != nil {
		return api.Bundle{}, storeErr(err)
	}
	return g.Bundle(name)
}

// Bundle returns the files deployed under name.
func (g *Gateway) Bundle(name string) (api.Bundle, error) { return bundleOf(g.st, name) }

// bundleOf reads the files deployed under name from st.
func bundleOf(st *store.Store, name string) (api.Bundle, error) {
	files, err := st.Bundle(name)
	if errors.Is(err, store.ErrNotFound) {
		return api.Bundle{}, api.Errorf(api.CodeNotFound, "no files are deployed under %q", name)
	}
	if err != nil {
		return api.Bundle{}, err
	}
	return api.Bundle{Name: name, Files: files}, nil
}

// inputsLocked are the files of bundle name, as a run's inputs; none when
// it holds none now.
func (g *Gateway) inputsLocked(name string) []task.Input {
	files, err := g.st.Bundle(name)
	if err != nil {
		return nil
	}
	in := make([]task.Input, len(files))
	for i, f := range files {
		in[i] = task.Input{Path: f.Path, SHA256: f.SHA256, Size: uint64(f.Size)}
	}
	return in
}

// tarError is an error reading the archive: the archive's (not one, or
// cut short) as a bad body, the body's own (too large, too slow) as it is.
func tarError(err error) error {
	switch {
	case errors.Is(err, tar.ErrHeader), errors.Is(err, tar.ErrFieldTooLong), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, tar.ErrInsecurePath):
		return api.Invalid("body", "not a whole tar archive: %v", err)
	}
	return err
}
