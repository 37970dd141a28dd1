package client

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestReadEvents(t *testing.T) {
	type ev struct{ event, data string }
	for _, tc := range []struct {
		name   string
		stream string
		want   []ev
		err    error
	}{
		{
			name:   "log then end",
			stream: "event: log\ndata: {\"seq\":1}\n\nevent: end\ndata: {}\n\nevent: log\ndata: after\n\n",
			want:   []ev{{"log", `{"seq":1}`}, {"end", "{}"}},
		},
		{
			name:   "comments, no space, multi-line data, default event",
			stream: ": keep-alive\n\ndata:a\ndata: b\n\nevent:x\nid: 3\ndata: c\n\n",
			want:   []ev{{"message", "a\nb"}, {"x", "c"}},
			err:    ErrStreamEnded,
		},
		{
			name:   "cut mid-event",
			stream: "event: log\ndata: {}\n\nevent: end\ndata: {",
			want:   []ev{{"log", "{}"}},
			err:    ErrStreamEnded,
		},
		{name: "empty", err: ErrStreamEnded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []ev
			err := readEvents(strings.NewReader(tc.stream), func(event, data string) (bool, error) {
				got = append(got, ev{event, data})
				return event == "end", nil
			})
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("events = %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzReadEvents(f *testing.F) {
	f.Add("event: log\ndata: {}\n\nevent: end\ndata: {}\n\n")
	f.Add(": c\ndata:\ndata\n\n\n")
	f.Fuzz(func(t *testing.T, stream string) {
		n := 0
		err := readEvents(strings.NewReader(stream), func(event, data string) (bool, error) {
			n++
			if event == "" {
				t.Errorf("event %d has no name", n)
			}
			return false, nil
		})
		if err == nil {
			t.Error("a stream without a final event ended without error")
		}
	})
}

func TestFormSendsOnlyWhatIsSet(t *testing.T) {
	in, diff, retries := int64(0), int64(3), 0
	for _, tc := range []struct {
		name string
		s    Submission
		want []string // field names in order
	}{
		{"module only", Submission{Wasm: []byte("\x00asm")}, []string{"wasm"}},
		{"zeros that matter", Submission{Input: &in, Difficulty: &diff, Retries: &retries, Args: []string{}}, []string{"input", "difficulty", "args", "retries"}},
		{"everything", Submission{
			ID: "i", Description: "d", Complete: 1, Duration: 1, Start: 1, Delay: 1, Repeats: 1,
			Wasm: []byte{}, Input: &in, Difficulty: &diff, Args: []string{"a"}, Env: []string{"A=1", "B=2"},
			Stdin: []byte{}, Memory: 1, Retries: &retries, Priority: -1, Labels: []string{"x", "y"}, Dirs: []string{"d"},
		}, []string{
			"id", "description", "complete", "duration", "start", "delay", "repeats", "wasm", "input",
			"difficulty", "args", "env", "env", "stdin", "memory", "retries", "priority", "labels", "labels", "dirs",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := formFields(t, tc.s)
			var names []string
			for _, f := range got {
				names = append(names, f[0])
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("fields %v, want %v", names, tc.want)
			}
		})
	}
}
