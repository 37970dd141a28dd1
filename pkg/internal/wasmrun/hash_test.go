package wasmrun_test

import (
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

func TestHash(t *testing.T) {
	h := wasmrun.HashOf([]byte("abc"))
	const hexText = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if h.String() != hexText {
		t.Fatalf("String = %s; want %s", h, hexText)
	}
	tests := []struct {
		in string
		ok bool
	}{
		{hexText, true},
		{strings.ToUpper(hexText), true},
		{"sha256:" + hexText, true},
		{hexText[:62], false},
		{hexText + "00", false},
		{"zz" + hexText[2:], false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := wasmrun.ParseHash(tt.in)
			if tt.ok && (err != nil || got != h) {
				t.Fatalf("ParseHash = %v, %v; want %v", got, err, h)
			}
			if !tt.ok && err == nil {
				t.Fatalf("ParseHash = %v; want an error", got)
			}
		})
	}
}
