package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/client"
)

func runJobGet(ctx context.Context, e *env, args []string) int {
	return getArtifacts(ctx, e, args, "job", (*client.Client).JobFiles, (*client.Client).JobFile)
}

func runTaskGet(ctx context.Context, e *env, args []string) int {
	return getArtifacts(ctx, e, args, "task", (*client.Client).TaskFiles, (*client.Client).TaskFile)
}

// getArtifacts downloads the artifacts of a job or a task (kind): the
// files list lists, each opened with open.
func getArtifacts(ctx context.Context, e *env, args []string, kind string,
	list func(*client.Client, context.Context, string) ([]api.File, error),
	open func(*client.Client, context.Context, string, string) (io.ReadCloser, error)) int {
	cmd := kind + " get"
	usage := cmd + " ID [--output DIR] [--gateway URL]"
	fs := newFlags(e, cmd, usage)
	gw := gatewayFlag(fs)
	out := fs.String("output", "", "directory to write the artifacts in, created if need be (default: ./ID)")
	pos, err := parse(fs, args)
	if err != nil {
		return exitParse(err)
	}
	if code := positionals(e, cmd, usage, pos, kind+" ID"); code != 0 {
		return code
	}
	c, code := connect(e, cmd, gw)
	if c == nil {
		return code
	}
	id := pos[0]
	dir := *out
	if dir == "" {
		dir = id
	}
	fail := func(err error) int {
		if kind == "job" {
			return jobFailed(e, cmd, id, err)
		}
		return failed(e, cmd, id, err)
	}
	files, err := list(c, ctx, id)
	if err != nil {
		return fail(err)
	}
	if len(files) == 0 {
		fmt.Fprintf(e.stderr, "%s %s has no artifacts (files it left in /shared); nothing written\n", kind, id)
		return 0
	}
	var total int64
	for _, f := range files {
		dst, err := artifactPath(dir, f.Path)
		if err != nil {
			return e.errorf("%s: %v", cmd, err)
		}
		body, err := open(c, ctx, id, f.Path)
		if err == nil {
			err = download(body, f, dst)
		}
		if err != nil {
			return fail(err)
		}
		total += f.Size
		fmt.Fprintf(e.stdout, "%s  %s\n", safeText(dst), api.FormatBytes(uint64(f.Size)))
	}
	fmt.Fprintf(e.stderr, "%d files, %s, in %s\n", len(files), api.FormatBytes(uint64(total)), dir)
	return 0
}

// artifactPath is where the artifact at path (as the gateway lists it,
// slash-separated, relative to /shared) goes under dir. The gateway only
// lists clean relative paths, but a path that would land outside dir
// (absolute, "..", a volume name) is refused here too: what a module
// named must not write where the user did not ask.
func artifactPath(dir, path string) (string, error) {
	if path == "" || strings.HasPrefix(path, "/") || strings.Contains(path, "\\") || strings.ContainsRune(path, 0) {
		return "", fmt.Errorf("artifact %q: not a relative path; refused", path)
	}
	local, err := filepath.Localize(path)
	if err != nil || !filepath.IsLocal(local) {
		return "", fmt.Errorf("artifact %q: would be written outside %s; refused", path, dir)
	}
	return filepath.Join(dir, local), nil
}

// download writes artifact f, read from body, to dst, creating its
// directories, and checks its size and sha256 against the listing. A
// file that does not match is removed.
func download(body io.ReadCloser, f api.File, dst string) (err error) {
	defer body.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	file, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(file, h), body)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != f.Size || !strings.EqualFold(sum, f.SHA256) {
		return fmt.Errorf("%s: got %d bytes of sha256 %s, the listing says %d bytes of sha256 %s; removed", f.Path, n, sum, f.Size, f.SHA256)
	}
	return nil
}
