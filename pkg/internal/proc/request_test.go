package proc_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/proc"
	"github.com/shoalmesh/shoal/wasm/shoal"
)

// field writes one field of a request record by hand.
func field(tag byte, v string) []byte {
	b := binary.LittleEndian.AppendUint32([]byte{tag}, uint32(len(v)))
	return append(b, v...)
}

func record(fields ...[]byte) []byte { return bytes.Join(fields, nil) }

const module = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		want  proc.Request
		error string // substring of the error; "" for none
	}{
		{name: "empty", in: nil, want: proc.Request{}},
		{
			name: "every field",
			in: record(field(1, module), field(2, "a"), field(2, ""), field(3, "K=V"), field(4, "in"),
				field(5, "1/16"), field(6, "8MiB"), field(7, "gpu=yes"), field(8, "parent"), field(9, "2m")),
			want: proc.Request{Module: module, Args: []string{"a", ""}, Env: []string{"K=V"}, Stdin: []byte("in"),
				Cores: "1/16", Memory: "8MiB", Labels: []string{"gpu=yes"}, Near: "parent", Timeout: 2 * time.Minute},
		},
		{name: "unknown tag", in: field(10, "x"), error: "unknown tag 10"},
		{name: "tag zero", in: field(0, ""), error: "unknown tag 0"},
		{name: "truncated header", in: []byte{2, 0, 0}, error: "truncated field header"},
		{name: "truncated value", in: field(2, "abc")[:6], error: "field arg is truncated"},
		{name: "huge length", in: []byte{2, 0xff, 0xff, 0xff, 0xff}, error: "field arg is truncated"},
		{name: "repeated module", in: record(field(1, module), field(1, module)), error: "field module is repeated"},
		{name: "repeated timeout", in: record(field(9, "1s"), field(9, "1s")), error: "field timeout is repeated"},
		{name: "bad module", in: field(1, "sha256:zz"), error: "field module"},
		{name: "bad env", in: field(3, "NOVALUE"), error: "field env"},
		{name: "bad label", in: field(7, "=v"), error: "field label"},
		{name: "bad cores", in: field(5, "lots"), error: "field cores"},
		{name: "bad memory", in: field(6, "big"), error: "field memory"},
		{name: "bad near", in: field(8, "far"), error: "field near"},
		{name: "bad timeout", in: field(9, "soon"), error: "field timeout"},
		{name: "zero timeout", in: field(9, "0s"), error: "not positive"},
		{name: "negative timeout", in: field(9, "-1s"), error: "not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := proc.DecodeRequest(tt.in)
			if tt.error != "" {
				if err == nil || !strings.Contains(err.Error(), tt.error) || !errors.Is(err, proc.ErrInvalid) {
					t.Fatalf("DecodeRequest = %+v, %v; want ErrInvalid with %q", got, err, tt.error)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DecodeRequest = %+v, want %+v", got, tt.want)
			}
			again, err := proc.DecodeRequest(proc.EncodeRequest(got))
			if err != nil || !equalRequests(again, got) {
				t.Fatalf("round trip = %+v, %v; want %+v", again, err, got)
			}
		})
	}
}

// equalRequests compares requests, taking an empty stdin as none.
func equalRequests(a, b proc.Request) bool {
	if !bytes.Equal(a.Stdin, b.Stdin) {
		return false
	}
	a.Stdin, b.Stdin = nil, nil
	return reflect.DeepEqual(a, b)
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(nil))
	f.Add(record(field(1, module), field(2, "a"), field(3, "K=V"), field(4, "in"), field(5, "250m"),
		field(6, "67108864"), field(7, "a=b"), field(8, "parent"), field(9, "1h2m3.5s")))
	f.Add(field(9, "1ns"))
	f.Add([]byte{2, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := proc.DecodeRequest(b)
		if err != nil {
			if !errors.Is(err, proc.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := proc.DecodeRequest(proc.EncodeRequest(req))
		if err != nil {
			t.Fatalf("decoding the encoding of %+v: %v", req, err)
		}
		if !equalRequests(again, req) {
			t.Fatalf("round trip = %+v, want %+v", again, req)
		}
	})
}

func TestCode(t *testing.T) {
	tests := []struct {
		err  error
		want int32
	}{
		{nil, 0},
		{proc.ErrInvalid, -1},
		{proc.ErrClosed, -2},
		{proc.ErrTimeout, -3},
		{proc.ErrFailed, -4},
		{proc.ErrTooBig, -5},
		{proc.ErrSpawn, -6},
		{proc.ErrUnsupported, -7},
		{errors.Join(errors.New("x"), proc.ErrTimeout), -3},
		{errors.New("anything else"), -4},
	}
	for _, tt := range tests {
		if got := proc.Code(tt.err); got != tt.want {
			t.Errorf("Code(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// The host reads what the guest SDK writes: the record has two encoders
// (the SDK's, built into guests, which cannot import the host's
// packages, and EncodeRequest) and one decoder, this package's.
func TestDecodeWhatTheSDKWrites(t *testing.T) {
	module := "sha256:" + strings.Repeat("ab", 32)
	for _, opts := range []shoal.SpawnOptions{
		{},
		{Module: module, Args: []string{"map", "", "0"}, Env: []string{"K=V"}, Stdin: []byte("in"),
			Cores: "1/16", Memory: "8MiB", Labels: []string{"zone=eu", "gpu=1"}, Near: "parent", Timeout: 90 * time.Second},
	} {
		rec, err := opts.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := proc.DecodeRequest(rec)
		if err != nil {
			t.Fatalf("DecodeRequest(%+v's record): %v", opts, err)
		}
		want := proc.Request(opts)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeRequest = %+v, want %+v", got, want)
		}
		if again := proc.EncodeRequest(got); !bytes.Equal(again, rec) {
			t.Fatalf("EncodeRequest wrote %q, the SDK %q", again, rec)
		}
	}
}
