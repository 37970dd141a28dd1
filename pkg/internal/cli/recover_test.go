package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/cli"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// TestGatewayRecover damages a gateway's database: without --recover the
// gateway refuses it and names the flag; with it, the gateway keeps the
// damaged file, says what it recovered, and starts with the tasks.
func TestGatewayRecover(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.db")
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		tk := task.New(task.Spec{ID: fmt.Sprint("t", i), Module: strings.Repeat("ab", 32), Repeats: 2}, time.Now())
		if err := st.CreateTask(*tk); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	damaged, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	args := []string{"gateway", "--data", dir, "--discover", "none", "--listen", "/ip4/127.0.0.1/tcp/0", "--http", "127.0.0.1:0"}
	if code := cli.Run(context.Background(), args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "--recover") {
		t.Fatalf("gateway on a damaged file: exit %d, %q; want a refusal that names --recover", code, stderr.String())
	}

	t.Logf("refused: %s", stderr.String())
	g := MustStartGateway(t, "--data", dir, "--recover")
	report := g.stderr.String()
	t.Logf("\n%s", report)
	for _, want := range []string{"was damaged", "the damaged file is kept, unchanged, as " + path + ".damaged-", "recovered into " + path} {
		if !strings.Contains(report, want) {
			t.Errorf("the report does not say %q", want)
		}
	}
	kept, _ := filepath.Glob(path + ".damaged-*")
	if len(kept) != 1 {
		t.Fatalf("damaged files kept: %v", kept)
	}
	if b, err := os.ReadFile(kept[0]); err != nil || !bytes.Equal(b, damaged) {
		t.Errorf("the damaged file was changed (%v)", err)
	}
	resp, err := http.Get("http://" + g.fields["http"][len("http://"):] + "/tasks?limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tasks []api.Task
	if err := json.NewDecoder(resp.Body).Decode(&tasks); err != nil {
		t.Fatal(err)
	}
	if len(tasks) == 0 {
		t.Error("the gateway started without the recovered tasks")
	}
	t.Logf("%d tasks served after recovery", len(tasks))
}

// TestGatewayRecoverWhole leaves a whole database alone, and says so.
func TestGatewayRecoverWhole(t *testing.T) {
	g := MustStartGateway(t, "--recover")
	if !strings.Contains(g.stderr.String(), "nothing to recover") {
		t.Errorf("stderr %q, want nothing to recover", g.stderr.String())
	}
}
