package shoal_test

import (
	"bytes"
	"encoding/binary"
	"reflect"
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
			var back shoal.SpawnOptions
			if err := back.UnmarshalBinary(got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tc.opts) {
				t.Fatalf("UnmarshalBinary = %+v, want %+v", back, tc.opts)
			}
		})
	}
}

func TestSpawnOptionsNegativeTimeout(t *testing.T) {
	if _, err := (shoal.SpawnOptions{Timeout: -time.Second}).MarshalBinary(); err == nil {
		t.Fatal("a negative timeout was written")
	}
}

// UnmarshalBinary refuses what a host must refuse.
func TestSpawnOptionsBadRecords(t *testing.T) {
	tests := []struct {
		name, want string
		rec        []byte
	}{
		{"unknown tag", "unknown tag 10", field(10, "x")},
		{"tag 0", "unknown tag 0", field(0, "")},
		{"short header", "truncated field header", []byte{2, 1, 0}},
		{"short value", "longer than the record", field(2, "abc")[:7]},
		{"huge length", "longer than the record", []byte{2, 0xff, 0xff, 0xff, 0xff, 'a'}},
		{"second module", "repeated field 1", record(field(1, "sha256:00"), field(1, "sha256:00"))},
		{"second timeout", "repeated field 9", record(field(9, "1s"), field(9, "1s"))},
		{"bad timeout", "not a non-negative duration", field(9, "soon")},
		{"negative timeout", "not a non-negative duration", field(9, "-1s")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o shoal.SpawnOptions
			err := o.UnmarshalBinary(tc.rec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("UnmarshalBinary(%q) = %v, want an error containing %q", tc.rec, err, tc.want)
			}
		})
	}
}

// A record the decoder takes is one the encoder can write: written again,
// it reads back the same.
func FuzzSpawnOptions(f *testing.F) {
	f.Add(record(field(1, "sha256:00"), field(2, "a"), field(9, "1m")))
	f.Add(record(field(3, "A=1"), field(4, "\x00"), field(7, "x=y"), field(8, "parent")))
	f.Add([]byte{2, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, rec []byte) {
		var o shoal.SpawnOptions
		if o.UnmarshalBinary(rec) != nil {
			return
		}
		again, err := o.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary(%+v): %v", o, err)
		}
		var back shoal.SpawnOptions
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatalf("UnmarshalBinary(MarshalBinary(%+v)): %v", o, err)
		}
		// Empty and absent read back alike.
		if o.Stdin != nil && len(o.Stdin) == 0 {
			o.Stdin = nil
		}
		if !reflect.DeepEqual(back, o) {
			t.Fatalf("round trip %+v, want %+v", back, o)
		}
	})
}
