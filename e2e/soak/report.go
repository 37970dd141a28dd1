package main

import (
	"fmt"
	"time"
)

// flatSlack is how much the last minute may be above the first and still
// be flat: 25%, and at least a few MiB (a small process or file moves by
// that much on its own).
const (
	flatRatio = 1.25
	rssSlack  = 16.0 // MiB
	dbSlack   = 8.0  // MiB
)

// report prints the table, the first minute against the last, and the
// ledger's counts; it returns the exit code: 1 if a run was lost,
// duplicated, failed or wrong.
func report(samples []sample, led *ledger, ld *load, kills int) int {
	fmt.Printf("\n%8s  %9s  %9s  %9s  %9s  %9s\n", "TIME", "RSS MiB", "DB MiB", "ACCEPTED", "CHECKED", "IN FLIGHT")
	for _, s := range samples {
		fmt.Printf("%8s  %9.1f  %9.1f  %9d  %9d  %9d\n", s.at.Round(time.Second), s.rss, s.db, s.accepted, s.checked, s.queue)
	}
	if len(samples) > 0 {
		last := samples[len(samples)-1].at
		// The first minute fills the working set (tasks in flight, with
		// their stdin, and the pools of buffers); in a run of 3 minutes or
		// more, the second minute is compared with the last.
		from, label := time.Duration(0), "first minute"
		if last >= 3*time.Minute {
			from, label = time.Minute, "second minute"
		}
		var first, end []sample
		for _, s := range samples {
			if s.at > from-5*time.Second && s.at <= from+time.Minute+5*time.Second {
				first = append(first, s)
			}
			if s.at >= last-time.Minute-5*time.Second {
				end = append(end, s)
			}
		}
		fr, er := mean(first, func(s sample) float64 { return s.rss }), mean(end, func(s sample) float64 { return s.rss })
		fd, ed := mean(first, func(s sample) float64 { return s.db }), mean(end, func(s sample) float64 { return s.db })
		fmt.Printf("\n%-22s  %13s  %12s  %s\n", "", label, "last minute", "")
		fmt.Printf("%-22s  %13.1f  %12.1f  %s\n", "gateway RSS (MiB)", fr, er, flat(fr, er, rssSlack))
		fmt.Printf("%-22s  %13.1f  %12.1f  %s\n", "database file (MiB)", fd, ed, flat(fd, ed, dbSlack))
		if last < 2*time.Minute {
			fmt.Println("(a run under two minutes: the first and last minutes overlap)")
		}
	}
	c := func(k string) int { return led.count(k) }
	fmt.Printf("\ntasks accepted %d (hash %d, hello %d, flood %d, big stdin %d), checked %d; runs expected %d\n",
		c("accepted"), c("accepted hash"), c("accepted hello"), c("accepted flood"), c("accepted stdin"), c("checked"), c("runs"))
	fmt.Printf("submits refused with 429 %d, other submit errors %d; dashboard requests %d (%d failed); workers killed %d\n",
		ld.refused.Load(), ld.errors.Load(), ld.polls.Load(), ld.pollErr.Load(), kills)
	switch led.purge {
	case "yes":
		fmt.Printf("tasks purged after their check: %d\n", c("purged"))
	case "no":
		fmt.Println("tasks purged: none: the gateway does not support DELETE /tasks/{id}?purge=1 yet, so checked tasks stay and the database grows")
	}
	fmt.Printf("\nruns succeeded with the right result %d, failed %d, wrong result %d\n", c("ok"), c("failed"), c("wrong"))
	fmt.Printf("runs lost %d, duplicated %d\n", c("lost"), c("duplicated"))
	for _, n := range led.notes {
		fmt.Println("  ", n)
	}
	if c("lost")+c("duplicated")+c("failed")+c("wrong") > 0 {
		fmt.Println("\nsoak: FAILED")
		return 1
	}
	fmt.Println("\nsoak: every accepted task ran exactly its repeats, with the right results")
	return 0
}

func mean(ss []sample, f func(sample) float64) float64 {
	if len(ss) == 0 {
		return 0
	}
	sum := 0.0
	for _, s := range ss {
		sum += f(s)
	}
	return sum / float64(len(ss))
}

// flat says whether last is flat against first.
func flat(first, last, slack float64) string {
	if last <= max(first*flatRatio, first+slack) {
		return "flat"
	}
	return fmt.Sprintf("GROWING (+%.0f%%)", (last/first-1)*100)
}
