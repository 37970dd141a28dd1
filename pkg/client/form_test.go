package client

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
	"time"
)

// formFields encodes s and returns its parts as [name, filename, value].
func formFields(tb testing.TB, s Submission) [][3]string {
	tb.Helper()
	body, ct, err := form(&s)
	if err != nil {
		tb.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" {
		tb.Fatalf("Content-Type %q: %v", ct, err)
	}
	mr := multipart.NewReader(strings.NewReader(string(body)), params["boundary"])
	var out [][3]string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, [3]string{p.FormName(), p.FileName(), string(b)})
	}
}

func TestFormValues(t *testing.T) {
	in := int64(-4)
	got := formFields(t, Submission{
		Duration: 5 * time.Second, Start: 1500 * time.Millisecond, Delay: 2 * time.Second,
		Wasm: []byte("\x00asm"), Input: &in, Args: []string{"a b", `"`}, Stdin: []byte("x\ny"),
		Memory: 64 << 20, Labels: []string{"gpu"},
	})
	want := [][3]string{
		{"duration", "", "5"}, {"start", "", "1.5"}, {"delay", "", "2"},
		{"wasm", "module.wasm", "\x00asm"}, {"input", "", "-4"}, {"args", "", `["a b","\""]`},
		{"stdin", "stdin", "x\ny"}, {"memory", "", "67108864"}, {"labels", "", "gpu"},
	}
	if len(got) != len(want) {
		t.Fatalf("parts %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("part %d = %q, want %q", i, got[i], want[i])
		}
	}
}
