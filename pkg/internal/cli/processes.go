package cli

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/shoalmesh/shoal/pkg/api"
)

// printProcesses prints a task's process trees (docs/PROCESSES.md), one
// table per run attempt that spawned processes (titled by its run when
// there are several), each indented by parent as pstree draws it:
//
//	PID       STATUS     WORKER     CORES  MEMORY  EXIT
//	0         succeeded  12*D3KooW  -      -       0
//	├─ 1      succeeded  12*x7Yq2a  1/16   64 MiB  0
//	│  └─ 3   failed     12*x7Yq2a  1/16   64 MiB  error: wasm trap
//	└─ 2      running    12*D3KooW  1/16   64 MiB  -
//
// A process whose parent is not in the list is shown as a root, so that
// none is left out.
func printProcesses(w io.Writer, ps []api.Process) {
	trees := processTrees(ps)
	for i, t := range trees {
		if len(trees) > 1 {
			if i > 0 {
				fmt.Fprintln(w)
			}
			title := "run " + strconv.Itoa(t.run)
			if t.attempt > 0 {
				title += fmt.Sprintf(" (retry %d)", t.attempt)
			}
			fmt.Fprintln(w, title+":")
		}
		printTree(w, t.rows)
	}
}

// printTree prints one process tree as a table.
func printTree(w io.Writer, rows []procRow) {
	tw := newTable(w)
	fmt.Fprintln(tw, "PID\tSTATUS\tWORKER\tCORES\tMEMORY\tEXIT")
	for _, r := range rows {
		p := r.p
		cores, mem := "-", "-"
		if p.Cores != 0 { // as the reservation lines of `shoal run` write it
			cores = api.FormatCores(api.Millicores(math.Round(p.Cores * 1000)))
		}
		if p.Memory != 0 {
			mem = api.FormatBytes(p.Memory)
		}
		fmt.Fprintf(tw, "%s%d\t%s\t%s\t%s\t%s\t%s\n", r.indent, p.PID, p.Status, orDash(api.ShortPeer(p.Worker)), cores, mem, processExit(p))
	}
	tw.Flush()
}

// processExit is a process's exit code, else its error, or "-" while it
// runs or when it ended with neither. A negative code is the gateway's
// "none" (a process that was canceled, lost or trapped), never a guest's.
func processExit(p api.Process) string {
	switch {
	case p.ExitCode > 0:
		return strconv.Itoa(int(p.ExitCode))
	case p.Error != "":
		return "error: " + oneLine(p.Error, 120)
	case p.ExitCode < 0 || p.Ended.IsZero() && !p.Status.Done():
		return "-"
	}
	return "0"
}

// procTree is the process tree of one run attempt, in the order it is
// printed.
type procTree struct {
	run, attempt int
	rows         []procRow
}

// procRow is a process and the tree lines drawn before its pid.
type procRow struct {
	indent string
	p      api.Process
}

// processTrees groups processes by run attempt and orders each group
// depth first, children by pid.
func processTrees(ps []api.Process) []procTree {
	type attemptKey struct{ run, attempt int }
	groups := map[attemptKey][]api.Process{}
	var keys []attemptKey
	for _, p := range ps {
		k := attemptKey{p.Run, p.Attempt}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], p)
	}
	slices.SortFunc(keys, func(a, b attemptKey) int {
		return cmp.Or(cmp.Compare(a.run, b.run), cmp.Compare(a.attempt, b.attempt))
	})
	out := make([]procTree, 0, len(keys))
	for _, k := range keys {
		out = append(out, procTree{run: k.run, attempt: k.attempt, rows: treeRows(groups[k])})
	}
	return out
}

// treeRows orders one tree's processes depth first and draws their lines.
func treeRows(ps []api.Process) []procRow {
	slices.SortFunc(ps, func(a, b api.Process) int { return cmp.Compare(a.PID, b.PID) })
	byPID := map[int]bool{}
	for _, p := range ps {
		byPID[p.PID] = true
	}
	children := map[int][]api.Process{}
	var roots []api.Process
	for _, p := range ps {
		if p.Parent < 0 || p.Parent == p.PID || !byPID[p.Parent] {
			roots = append(roots, p)
		} else {
			children[p.Parent] = append(children[p.Parent], p)
		}
	}
	var rows []procRow
	seen := map[int]bool{}
	var walk func(p api.Process, lead string, branch string)
	walk = func(p api.Process, lead, branch string) {
		if seen[p.PID] { // a cycle of parents, which a gateway never makes
			return
		}
		seen[p.PID] = true
		rows = append(rows, procRow{indent: lead + branch, p: p})
		kids := children[p.PID]
		next := lead
		switch branch {
		case "├─ ":
			next += "│  "
		case "└─ ":
			next += "   "
		}
		for i, c := range kids {
			b := "├─ "
			if i == len(kids)-1 {
				b = "└─ "
			}
			walk(c, next, b)
		}
	}
	for _, r := range roots {
		walk(r, "", "")
	}
	return rows
}
