package store_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

func entries(from, n, size int) []task.LogEntry {
	var out []task.LogEntry
	for i := from; i < from+n; i++ {
		out = append(out, task.LogEntry{
			Seq: uint64(i), Time: epoch.Add(time.Duration(i) * time.Millisecond), Run: i % 3, Attempt: 1,
			Stream: "stdout", Data: fmt.Sprintf("%0*d", size, i),
		})
	}
	return out
}

func seqs(es []task.LogEntry) []uint64 {
	out := []uint64{}
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func TestLogsBounded(t *testing.T) {
	s, path := MustOpen(t)
	MustCreate(t, s, NewTask("l", 1))
	MustCreate(t, s, NewTask("quiet", 1))
	const limit = 100
	// Three calls of four 30-byte entries: 120 bytes each, over the limit.
	for call := range 3 {
		if err := s.AppendLogs("l", limit, entries(call*4, 4, 30)...); err != nil {
			t.Fatal(err)
		}
		got, err := s.Logs("l")
		if err != nil {
			t.Fatal(err)
		}
		want := []uint64{uint64(call*4 + 1), uint64(call*4 + 2), uint64(call*4 + 3)}
		if !reflect.DeepEqual(seqs(got), want) {
			t.Fatalf("after call %d: seqs %v, want %v", call, seqs(got), want)
		}
	}
	s = MustReopen(t, s, path)
	got, err := s.Logs("l")
	if err != nil {
		t.Fatal(err)
	}
	want := entries(9, 3, 30)
	for i := range got {
		got[i].Time = got[i].Time.UTC()
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen:\n got %+v\nwant %+v", got, want)
	}
	if st := s.Stats(); st.LogBytes != 90 {
		t.Errorf("stats: %d log bytes, want 90", st.LogBytes)
	}
	quiet, err := s.Logs("quiet")
	if err != nil || quiet == nil || len(quiet) != 0 {
		t.Errorf("logs of a quiet task: %#v, %v; want empty, not nil", quiet, err)
	}
}

func TestLogsSmallAppendsTrimOldest(t *testing.T) {
	s, _ := MustOpen(t)
	MustCreate(t, s, NewTask("l", 1))
	for i := range 50 {
		if err := s.AppendLogs("l", 25, entries(i, 1, 10)...); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.Logs("l")
	if !reflect.DeepEqual(seqs(got), []uint64{48, 49}) {
		t.Errorf("seqs %v, want [48 49]", seqs(got))
	}
}

func TestLogsKeepNewestEntryOverLimit(t *testing.T) {
	s, _ := MustOpen(t)
	MustCreate(t, s, NewTask("l", 1))
	if err := s.AppendLogs("l", 10, entries(0, 2, 5)...); err != nil {
		t.Fatal(err)
	}
	big := task.LogEntry{Seq: 99, Stream: "stderr", Data: strings.Repeat("x", 50)}
	if err := s.AppendLogs("l", 10, big); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Logs("l")
	if len(got) != 1 || got[0].Seq != 99 || got[0].Data != big.Data {
		t.Errorf("logs %+v, want only the big entry", got)
	}
	if err := s.AppendLogs("l", 0, big); err == nil {
		t.Error("limit 0 accepted")
	}
}
