package shoal_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/wasm/shoal"
)

// field is one field of a spawn request record, as docs/PROCESSES.md lays
// it out.
func field(tag byte, v string) []byte {
	b := []byte{tag}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func record(fields ...[]byte) []byte { return bytes.Join(fields, nil) }

// Each field of SpawnOptions has the tag, length and bytes of the record's
// table, and reads back as it was written.
func TestSpawnOptionsRecord(t *testing.T) {
	tests := []struct {
		name string
		opts shoal.SpawnOptions
		want []byte
	}{
		{"zero: own module, defaults", shoal.SpawnOptions{}, nil},
		{"module", shoal.SpawnOptions{Module: "sha256:ab01"}, field(1, "sha256:ab01")},
		{"args repeat in order", shoal.SpawnOptions{Args: []string{"map", "", "3"}},
			record(field(2, "map"), field(2, ""), field(2, "3"))},
		{"env", shoal.SpawnOptions{Env: []string{"A=1", "B="}}, record(field(3, "A=1"), field(3, "B="))},
		{"stdin", shoal.SpawnOptions{Stdin: []byte{0, 1, 2, 255}}, field(4, "\x00\x01\x02\xff")},
		{"cores", shoal.SpawnOptions{Cores: "1/16"}, field(5, "1/16")},
		{"memory", shoal.SpawnOptions{Memory: "8MiB"}, field(6, "8MiB")},
		{"labels", shoal.SpawnOptions{Labels: []string{"zone=a", "gpu=1"}}, record(field(7, "zone=a"), field(7, "gpu=1"))},
		{"near", shoal.SpawnOptions{Near: "parent"}, field(8, "parent")},
		{"timeout", shoal.SpawnOptions{Timeout: 90 * time.Second}, field(9, "1m30s")},
		{"every field, in tag order", shoal.SpawnOptions{
			Timeout: 2 * time.Second, Near: "parent", Labels: []string{"l=1"}, Memory: "1MiB",
			Cores: "250m", Stdin: []byte("in"), Env: []string{"E=1"}, Args: []string{"a", "b"}, Module: "sha256:00",
		}, record(field(1, "sha256:00"), field(2, "a"), field(2, "b"), field(3, "E=1"), field(4, "in"),
			field(5, "250m"), field(6, "1MiB"), field(7, "l=1"), field(8, "parent"), field(9, "2s"))},
		{"a long field's length", shoal.SpawnOptions{Stdin: bytes.Repeat([]byte("x"), 70000)},
			field(4, strings.Repeat("x", 70000))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.opts.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("MarshalBinary = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSpawnOptionsNegativeTimeout(t *testing.T) {
	if _, err := (shoal.SpawnOptions{Timeout: -time.Second}).MarshalBinary(); err == nil {
		t.Fatal("a negative timeout was written")
	}
}
