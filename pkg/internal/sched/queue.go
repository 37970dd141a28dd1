package sched

import (
	"container/heap"
	"time"
)

// item is one run waiting in a queue.
type item struct {
	ref      RunRef
	task     *entry // the task it was queued for: a purged task's id may name a new one
	due      time.Time
	priority int
	seq      uint64
}

// byDue orders runs that are not yet due by due time.
type byDue []item

func (q byDue) Len() int { return len(q) }
func (q byDue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q byDue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *byDue) Push(x any)   { *q = append(*q, x.(item)) }
func (q *byDue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// byPriority orders due runs: higher priority first, then earlier due, then
// submission order.
type byPriority []item

func (q byPriority) Len() int { return len(q) }
func (q byPriority) Less(i, j int) bool {
	if q[i].priority != q[j].priority {
		return q[i].priority > q[j].priority
	}
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q byPriority) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *byPriority) Push(x any)   { *q = append(*q, x.(item)) }
func (q *byPriority) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

var (
	_ heap.Interface = (*byDue)(nil)
	_ heap.Interface = (*byPriority)(nil)
)
