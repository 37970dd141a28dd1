package store

import (
	"bytes"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// A task record written before the fields that follow CanceledAt (Owner,
// and any added later) ends at CanceledAt; it must still decode, with
// those fields zero.
func TestTaskRecordWithoutLaterFields(t *testing.T) {
	rec := taskRecord{
		Spec:    task.Spec{ID: "old", Module: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Labels: []string{"x"}},
		Created: time.Unix(1700000000, 5), Canceled: true, CanceledAt: time.Unix(1700000001, 0),
	}
	// Zero later fields encode as 0 bytes, and CanceledAt's last byte is
	// not 0: what is left is the record as first released.
	old := bytes.TrimRight(encodeTask(&rec), "\x00")
	got, err := decodeTask(old)
	if err != nil || got.Spec.ID != "old" || got.Spec.Owner != "" || !got.CanceledAt.Equal(rec.CanceledAt) {
		t.Fatalf("older record: %+v, %v", got, err)
	}
	rec.Spec.Owner = "alice"
	if got, err := decodeTask(encodeTask(&rec)); err != nil || got.Spec.Owner != "alice" {
		t.Fatalf("owner: %+v, %v", got.Spec, err)
	}
}

// A run record written before Timing.Placement ends at Timing.Total; it
// must still decode, with Placement zero.
func TestRunRecordWithoutPlacement(t *testing.T) {
	r := task.Run{Index: 3, Attempt: 1, Status: task.Succeeded, Worker: "w", Result: "42",
		Timing: task.Timing{Queue: 5, Fetch: 6, Compile: 7, Instantiate: 8, Exec: 9, Total: 100}}
	old := encodeRun(&r)
	old = old[:len(old)-1] // Placement 0 is one varint byte
	got, err := decodeRun(old, 3)
	if err != nil || got.Timing != r.Timing {
		t.Fatalf("older record: %+v, %v", got.Timing, err)
	}
	r.Timing.Placement = 1234567
	if got, err := decodeRun(encodeRun(&r), 3); err != nil || got.Timing != r.Timing {
		t.Fatalf("placement: %+v, %v", got.Timing, err)
	}
}
