package cli

import (
	"strings"
	"testing"
)

func TestSafeText(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\n\twith tabs\r\n": "plain text\n\twith tabs\r\n",
		"héllo, 世界":                   "héllo, 世界",
		"\x1b[2J\x1b[H":               `\x1b[2J\x1b[H`,           // clear the screen
		"\x1b]0;pwned\x07":            `\x1b]0;pwned\x07`,        // window title
		"\x1b]52;c;ZXZpbA==\x07":      `\x1b]52;c;ZXZpbA==\x07`,  // OSC 52: write the clipboard
		"\u009b31m red":               `\u009b31m red`,           // C1 CSI
		"bad \xff byte, DEL \x7f":     `bad \xff byte, DEL \x7f`, // not UTF-8; DEL
		"NUL \x00 bell \a":            `NUL \x00 bell \x07`,
	} {
		if got := safeText(in); got != want {
			t.Errorf("safeText(%q) = %q; want %q", in, got, want)
		}
	}
}

// A character split between two writes is not escaped as bad bytes;
// escapes are, wherever they are split.
func TestTermWriterSplits(t *testing.T) {
	var b strings.Builder
	w := &termWriter{w: &b}
	for _, chunk := range []string{"a\xe4\xb8", "\x96b\x1b", "[2Jc"} { // "a世b" then ESC [2J c
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := b.String(), `a世b\x1b[2Jc`; got != want {
		t.Errorf("wrote %q; want %q", got, want)
	}
	if terminalOutput(&b, false) != &b {
		t.Error("output to a non-terminal is escaped; it should be raw")
	}
}
