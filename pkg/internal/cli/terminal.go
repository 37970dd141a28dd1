package cli

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What modules print, and what their submitters wrote (descriptions), goes
// to the user's terminal, which obeys escape sequences: clear the screen,
// set the window title, write the clipboard (OSC 52). So control
// characters from them are shown escaped, as \x1b, when the output is a
// terminal; --raw passes bytes through, and output to a file or a pipe is
// raw already.

// safeText returns s with every control character but newline, tab and
// carriage return escaped (\x1b, \u009b), and bytes that are not UTF-8
// escaped (\xff).
func safeText(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t' || r == '\r':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r): // C1, CSI included
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// needsEscape reports whether safeText would change s.
func needsEscape(s string) bool {
	high := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0x7f, c < 0x20 && c != '\n' && c != '\t' && c != '\r':
			return true
		case c >= 0x80:
			high = true
		}
	}
	return high && (!utf8.ValidString(s) || strings.IndexFunc(s, isC1) >= 0)
}

func isC1(r rune) bool { return r >= 0x80 && r <= 0x9f }

// termWriter escapes what it writes (safeText). A multi-byte character
// split between two writes (log chunks split anywhere) is held until its
// end comes, so it is not escaped as bad bytes.
type termWriter struct {
	w       io.Writer
	pending []byte // the start of a character split by the last write
}

// terminalOutput is w, escaping control characters when w is a terminal
// and raw was not asked for.
func terminalOutput(w io.Writer, raw bool) io.Writer {
	if raw || !isTerminal(w) {
		return w
	}
	return &termWriter{w: w}
}

// underlying is the writer a termWriter or a lockedWriter writes to, or
// w itself.
func underlying(w io.Writer) io.Writer {
	switch t := w.(type) {
	case *termWriter:
		return underlying(t.w)
	case lockedWriter:
		return underlying(t.w)
	}
	return w
}

func (t *termWriter) Write(p []byte) (int, error) {
	data := append(t.pending, p...)
	t.pending = nil
	if cut := incompleteTail(data); cut > 0 {
		t.pending = append([]byte(nil), data[len(data)-cut:]...)
		data = data[:len(data)-cut]
	}
	if _, err := io.WriteString(t.w, safeText(string(data))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// incompleteTail is how many bytes at the end of b start a UTF-8 character
// whose rest has not come yet (0 to 3).
func incompleteTail(b []byte) int {
	for n := 1; n <= 3 && n <= len(b); n++ {
		c := b[len(b)-n]
		if c < 0x80 {
			return 0
		}
		if c >= 0xc0 { // a lead byte: is its character whole?
			if utf8.FullRune(b[len(b)-n:]) {
				return 0
			}
			return n
		}
	}
	return 0
}
