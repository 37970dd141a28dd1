package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/api"
)

func TestProcessTree(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const w1, w2 = "12D3KooWRbjv5fxTUS2nPy9qy3F7TYFjpjntpy6f35Be3m2QK4PT", "12D3KooWx7Yq2aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456x7Yq2a"
	proc := func(pid, parent int, status api.Status, worker string) api.Process {
		p := api.Process{PID: pid, Parent: parent, Status: status, Worker: worker, Cores: 0.063, Memory: 64 << 20}
		if status.Done() {
			p.Started, p.Ended = at, at.Add(time.Second)
		}
		return p
	}
	withErr := func(p api.Process, err string) api.Process { p.Error = err; return p }
	withExit := func(p api.Process, code int32, err string) api.Process { p.ExitCode, p.Error = code, err; return p }
	withRun := func(p api.Process, run, attempt int) api.Process { p.Run, p.Attempt = run, attempt; return p }
	root := proc(0, -1, api.Succeeded, w1)
	root.Cores, root.Memory = 1, 0
	for _, tc := range []struct {
		name  string
		procs []api.Process
		want  string
	}{
		{"a root alone", []api.Process{root}, `
PID  STATUS     WORKER     CORES  MEMORY  EXIT
0    succeeded  12*2QK4PT  1      -       0
`},
		{"nested, given out of order", []api.Process{
			proc(2, 0, api.Running, w1),
			withErr(proc(3, 1, api.Failed, w2), "wasm error: unreachable\nwasm stack trace: ..."),
			root,
			proc(1, 0, api.Succeeded, w2),
			proc(4, 3, api.Canceled, ""),
			proc(5, 1, api.Queued, ""),
		}, `
PID         STATUS     WORKER     CORES  MEMORY  EXIT
0           succeeded  12*2QK4PT  1      -       0
├─ 1        succeeded  12*x7Yq2a  1/16   64 MiB  0
│  ├─ 3     failed     12*x7Yq2a  1/16   64 MiB  error: wasm error: unreachable...
│  │  └─ 4  canceled   -          1/16   64 MiB  0
│  └─ 5     queued     -          1/16   64 MiB  -
└─ 2        running    12*2QK4PT  1/16   64 MiB  -
`},
		{"an exit code before its error", []api.Process{root, withExit(proc(1, 0, api.Failed, w1), 3, "exit code 3")}, `
PID   STATUS     WORKER     CORES  MEMORY  EXIT
0     succeeded  12*2QK4PT  1      -       0
└─ 1  failed     12*2QK4PT  1/16   64 MiB  3
`},
		{"one tree per run attempt", []api.Process{
			withRun(proc(1, 0, api.Succeeded, w2), 1, 0),
			withRun(root, 1, 0),
			withErr(withRun(proc(0, -1, api.Failed, w2), 0, 1), "worker lost"),
			withRun(root, 0, 0),
		}, `
run 0:
PID  STATUS     WORKER     CORES  MEMORY  EXIT
0    succeeded  12*2QK4PT  1      -       0

run 0 (retry 1):
PID  STATUS  WORKER     CORES  MEMORY  EXIT
0    failed  12*x7Yq2a  1/16   64 MiB  error: worker lost

run 1:
PID   STATUS     WORKER     CORES  MEMORY  EXIT
0     succeeded  12*2QK4PT  1      -       0
└─ 1  succeeded  12*x7Yq2a  1/16   64 MiB  0
`},
		{"ended without an exit code (-1 is the gateway's none)", []api.Process{
			withExit(root, -1, ""), withExit(proc(1, 0, api.Canceled, w2), -1, "parent ended"),
		}, `
PID   STATUS     WORKER     CORES  MEMORY  EXIT
0     succeeded  12*2QK4PT  1      -       -
└─ 1  canceled   12*x7Yq2a  1/16   64 MiB  error: parent ended
`},
		{"a parent missing from the list", []api.Process{proc(7, 6, api.Running, w1)}, `
PID  STATUS   WORKER     CORES  MEMORY  EXIT
7    running  12*2QK4PT  1/16   64 MiB  -
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printProcesses(&b, tc.procs)
			if got := "\n" + b.String(); got != tc.want {
				t.Errorf("got%s\nwant%s", got, tc.want)
			}
		})
	}
}

// shoal task prints the tree after the runs, and only when there is one.
func TestPrintTaskProcesses(t *testing.T) {
	tv := api.Task{ID: "tree", Status: api.Running, Runs: []api.Run{{Status: api.Running}}}
	var b bytes.Buffer
	printTask(&env{stdout: &b}, tv)
	if strings.Contains(b.String(), "PID") {
		t.Errorf("a task without processes printed a tree:\n%s", b.String())
	}
	tv.Processes = []api.Process{{PID: 0, Parent: -1, Status: api.Running}, {PID: 1, Parent: 0, Status: api.Queued}}
	b.Reset()
	printTask(&env{stdout: &b}, tv)
	runs, tree, ok := strings.Cut(b.String(), "\n\nPID ")
	if !ok || !strings.Contains(runs, "RUN ") || !strings.Contains(tree, "\n└─ 1  queued ") {
		t.Errorf("want the runs, then the tree:\n%s", b.String())
	}
}
