package store

import (
	"fmt"
	"strings"
)

// maxPagesShown bounds the unreadable pages Summary lists one by one.
const maxPagesShown = 10

// Summary is the recovery told to a person: one line of what happened,
// then what was copied, what was lost and which pages could not be read.
func (r *Recovery) Summary() string {
	var b strings.Builder
	if r.Whole {
		fmt.Fprintf(&b, "store %s is whole (%d bytes): nothing to recover, the file was left as it is\n", r.Path, r.Size)
		return b.String()
	}
	fmt.Fprintf(&b, "store %s was damaged: %s\n", r.Path, r.Reason)
	fmt.Fprintf(&b, "  the damaged file is kept, unchanged, as %s (%d bytes", r.Damaged, r.Size)
	if r.Reach > r.Size {
		fmt.Fprintf(&b, "; its pages reach %d bytes: truncated", r.Reach)
	}
	b.WriteString(")\n")
	if r.Nothing != "" {
		fmt.Fprintf(&b, "  nothing could be read: %s\n", r.Nothing)
		fmt.Fprintf(&b, "  %s is a new, empty store\n", r.Path)
		return b.String()
	}
	c := r.Copied
	fmt.Fprintf(&b, "  recovered into %s: %d tasks, %d runs, %d modules, %d log entries (%d bytes)\n",
		r.Path, c.Tasks, c.Runs, c.Modules, c.Logs, c.LogBytes)
	if r.HadKnown {
		fmt.Fprintf(&b, "  the damaged file's counters said: %d tasks, %d runs, %d modules, %d bytes of logs\n",
			r.Had.Tasks, r.Had.Runs, r.Had.Modules, r.Had.LogBytes)
	} else {
		b.WriteString("  the damaged file's counters could not be read: what unreadable pages held is not counted\n")
	}
	if r.Orphans > 0 {
		fmt.Fprintf(&b, "  %d pages of records were found by reading the whole file, below pages that are lost (they may bring back records deleted before the damage)\n", r.Orphans)
	}
	var lost []string
	if r.LostTasks > 0 {
		s := fmt.Sprintf("%d tasks (their records could not be read; their %d runs and %d log entries that could be read were dropped)",
			r.LostTasks, r.DroppedRuns, r.DroppedLogs)
		if len(r.LostIDs) > 0 {
			s += ": " + strings.Join(r.LostIDs, ", ")
			if len(r.LostIDs) < r.LostTasks {
				s += ", ..."
			}
		}
		lost = append(lost, s)
	}
	if r.Requeued > 0 {
		lost = append(lost, fmt.Sprintf("%d runs of recovered tasks (their records could not be read: they are scheduled to run again)", r.Requeued))
	}
	if r.HadKnown && r.Had.Modules > c.Modules {
		lost = append(lost, fmt.Sprintf("%d modules", r.Had.Modules-c.Modules))
	}
	if r.NoModule > 0 {
		lost = append(lost, fmt.Sprintf("the modules of %d recovered tasks (their runs will fail: upload the module again and resubmit)", r.NoModule))
	}
	if r.HadKnown && r.Had.LogBytes > c.LogBytes {
		lost = append(lost, fmt.Sprintf("%d bytes of logs", r.Had.LogBytes-c.LogBytes))
	}
	if r.BadRecords > 0 {
		lost = append(lost, fmt.Sprintf("%d records that do not decode (counted in the kinds above)", r.BadRecords))
	}
	if len(lost) == 0 {
		b.WriteString("  lost: nothing\n")
	}
	for _, l := range lost {
		fmt.Fprintf(&b, "  lost: %s\n", l)
	}
	if len(r.Pages) > 0 {
		fmt.Fprintf(&b, "  unreadable: %d pages\n", len(r.Pages))
		for i, p := range r.Pages {
			if i == maxPagesShown {
				fmt.Fprintf(&b, "    ... and %d more\n", len(r.Pages)-i)
				break
			}
			fmt.Fprintf(&b, "    %s\n", p)
		}
	}
	return b.String()
}
