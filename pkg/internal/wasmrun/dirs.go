package wasmrun

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"
)

// Dir is a host directory granted to one run, mounted in the guest at
// "/" + Name. A run sees no other file.
type Dir struct {
	// Name is the directory's name in the guest, one path element; Root
	// mounts it at "/", the guest's working directory, where relative
	// paths lead.
	Name string
	// HostPath is the directory on the host.
	HostPath string
	// ReadOnly refuses every change: writes, creation, removal, renaming.
	ReadOnly bool
}

// mountDirs opens the run's directories and returns the guest's file
// system configuration, with no mount at all when there is no directory.
// The caller closes the roots once the instance is closed.
func mountDirs(dirs []Dir) (wazero.FSConfig, []*os.Root, error) {
	if len(dirs) == 0 {
		return nil, nil, nil
	}
	cfg := wazero.NewFSConfig()
	roots := make([]*os.Root, 0, len(dirs))
	seen := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		if d.Name != Root && (d.Name == "" || d.Name == "." || d.Name == ".." || strings.ContainsAny(d.Name, "/\x00")) {
			closeRoots(roots)
			return nil, nil, fmt.Errorf("directory %q: not a valid name", d.Name)
		}
		if seen[d.Name] {
			closeRoots(roots)
			return nil, nil, fmt.Errorf("directory %s: granted twice", d.Name)
		}
		seen[d.Name] = true
		root, err := os.OpenRoot(d.HostPath)
		if err != nil {
			closeRoots(roots)
			// The host path is the worker's business, not the task's.
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, nil, fmt.Errorf("directory %s: %w", d.Name, err)
		}
		roots = append(roots, root)
		var host experimentalsys.FS = sysfs.DirFS(d.HostPath)
		if d.ReadOnly {
			host = &sysfs.ReadFS{FS: host}
		}
		guest := "/" + d.Name
		if d.Name == Root {
			guest = "/"
		}
		cfg = cfg.(sysfs.FSConfig).WithSysFSMount(&jailFS{fs: host, root: root}, guest)
	}
	return cfg, roots, nil
}

// Root is the Name of a Dir mounted at "/": the guest's working
// directory (a cluster's deployed files, docs/CLUSTERS.md).
const Root = "/"

func closeRoots(roots []*os.Root) {
	for _, r := range roots {
		_ = r.Close()
	}
}

// Why a jail: wazero's WASI functions already refuse absolute paths and
// paths that climb out with "..", but its directory mount follows symbolic
// links wherever they point, and lets the guest create them. jailFS refuses
// to create links, and refuses any path whose resolution, links included,
// leaves the directory (os.Root decides that). It checks, then acts by path:
// a link that a host process swaps in between could still be followed, so
// do not let untrusted writers of the host directory race the runs.

// jailFS is a granted directory as the guest sees it. Paths come from
// wazero's WASI functions: cleaned, relative to the directory.
type jailFS struct {
	fs   experimentalsys.FS
	root *os.Root
}

var _ experimentalsys.FS = (*jailFS)(nil)

// inside returns 0 when p resolves inside the directory: p itself when
// follow is set (the operation follows a link in p's last element), else
// p's parent. It returns EPERM for a path that leaves it. Other errors of
// the resolution (a missing file, say) are left to the operation, which
// meets them too, or creates what is missing.
func (j *jailFS) inside(p string, follow bool) experimentalsys.Errno {
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		p = "."
	}
	if !fs.ValidPath(p) {
		return experimentalsys.EPERM
	}
	if !follow {
		p = path.Dir(p)
	}
	if p == "." {
		return 0
	}
	_, err := j.root.Stat(p)
	var errno syscall.Errno
	if err != nil && !errors.As(err, &errno) {
		return experimentalsys.EPERM // "path escapes from parent"
	}
	return 0
}

// both checks two paths, as inside does.
func (j *jailFS) both(a string, followA bool, b string, followB bool) experimentalsys.Errno {
	if errno := j.inside(a, followA); errno != 0 {
		return errno
	}
	return j.inside(b, followB)
}

// OpenFile implements experimentalsys.FS.
func (j *jailFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if errno := j.inside(p, flag&experimentalsys.O_NOFOLLOW == 0); errno != 0 {
		return nil, errno
	}
	return j.fs.OpenFile(p, flag, perm)
}

// Lstat implements experimentalsys.FS.
func (j *jailFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	if errno := j.inside(p, false); errno != 0 {
		return sys.Stat_t{}, errno
	}
	return j.fs.Lstat(p)
}

// Stat implements experimentalsys.FS.
func (j *jailFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	if errno := j.inside(p, true); errno != 0 {
		return sys.Stat_t{}, errno
	}
	return j.fs.Stat(p)
}

// Mkdir implements experimentalsys.FS.
func (j *jailFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	if errno := j.inside(p, false); errno != 0 {
		return errno
	}
	return j.fs.Mkdir(p, perm)
}

// Chmod implements experimentalsys.FS.
func (j *jailFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	if errno := j.inside(p, true); errno != 0 {
		return errno
	}
	return j.fs.Chmod(p, perm)
}

// Rename implements experimentalsys.FS.
func (j *jailFS) Rename(from, to string) experimentalsys.Errno {
	if errno := j.both(from, false, to, false); errno != 0 {
		return errno
	}
	return j.fs.Rename(from, to)
}

// Rmdir implements experimentalsys.FS.
func (j *jailFS) Rmdir(p string) experimentalsys.Errno {
	if errno := j.inside(p, false); errno != 0 {
		return errno
	}
	return j.fs.Rmdir(p)
}

// Unlink implements experimentalsys.FS.
func (j *jailFS) Unlink(p string) experimentalsys.Errno {
	if errno := j.inside(p, false); errno != 0 {
		return errno
	}
	return j.fs.Unlink(p)
}

// Link implements experimentalsys.FS. A hard link does not follow a
// symbolic link named by oldPath (link(2) on Linux).
func (j *jailFS) Link(oldPath, newPath string) experimentalsys.Errno {
	if errno := j.both(oldPath, false, newPath, false); errno != 0 {
		return errno
	}
	return j.fs.Link(oldPath, newPath)
}

// Symlink implements experimentalsys.FS: guests cannot create links, so
// that no guest can plant one for itself or for another run to follow.
func (j *jailFS) Symlink(string, string) experimentalsys.Errno {
	return experimentalsys.EPERM
}

// Readlink implements experimentalsys.FS.
func (j *jailFS) Readlink(p string) (string, experimentalsys.Errno) {
	if errno := j.inside(p, false); errno != 0 {
		return "", errno
	}
	return j.fs.Readlink(p)
}

// Utimens implements experimentalsys.FS.
func (j *jailFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	if errno := j.inside(p, true); errno != 0 {
		return errno
	}
	return j.fs.Utimens(p, atim, mtim)
}
