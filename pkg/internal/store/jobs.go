package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shoalmesh/shoal/pkg/api"
)

// The buckets of jobs (format 3), made by the first write that needs them;
// a reader takes a missing one for empty.
//
//	steps   seq|index -> the step's state in the job's latest attempt
//	files   seq|path  -> an artifact: its size and sha256
//	blobs   sha256    -> the artifact's bytes
//	refs    sha256    -> how many file records name the blob (8 bytes)
//	names   name      -> the sha256 hex of the module it names
//	hooks   seq       -> the job's latest callback attempts, in JSON
//	bundles name|0|path -> a deployed file: its size and sha256
var (
	bucketBundles = []byte("bundles")
	bucketHooks   = []byte("hooks")
	bucketSteps   = []byte("steps")
	bucketFiles   = []byte("files")
	bucketBlobs   = []byte("blobs")
	bucketRefs    = []byte("refs")
	bucketNames   = []byte("names")
)

// StepRecord is the state of a job's step that the store keeps: what
// changes while the job runs (the step's definition is in the job's spec).
type StepRecord struct {
	Attempt  int
	Status   api.Status
	Started  time.Time
	Ended    time.Time
	ExitCode int32
	Error    string
	Fuel     uint64
}

const stepCodec byte = 1

func encodeStep(r *StepRecord) []byte {
	b := []byte{stepCodec}
	b = binary.AppendVarint(b, int64(r.Attempt))
	b = appendStatus(b, r.Status)
	b = appendTime(b, r.Started)
	b = appendTime(b, r.Ended)
	b = binary.AppendVarint(b, int64(r.ExitCode))
	b = appendString(b, r.Error)
	return binary.AppendUvarint(b, r.Fuel)
}

func decodeStep(b []byte) (StepRecord, error) {
	d := decoder{b: b}
	var r StepRecord
	d.version(stepCodec)
	r.Attempt = int(d.varint())
	r.Status = d.status()
	r.Started = d.time()
	r.Ended = d.time()
	r.ExitCode = int32(d.varint())
	r.Error = d.string()
	r.Fuel = d.uvarint()
	if err := d.done(); err != nil {
		return r, fmt.Errorf("decode step record: %w", err)
	}
	return r, nil
}

func stepKey(seq uint64, i int) []byte {
	return binary.BigEndian.AppendUint32(u64(seq), uint32(i))
}

// SaveSteps records the states of steps of job id, by index.
func (s *Store) SaveSteps(id string, steps map[int]StepRecord) error {
	err := s.commit.do(&saveStepsCmd{ID: id, Steps: steps})
	if err != nil {
		return fmt.Errorf("save steps of %s: %w", id, err)
	}
	return nil
}

// Steps returns the recorded states of job id's steps, by index.
func (s *Store) Steps(id string) (map[int]StepRecord, error) {
	out := map[int]StepRecord{}
	err := s.view(func(tx *bolt.Tx) error {
		seq, err := taskSeq(tx, id)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketSteps)
		if b == nil {
			return nil
		}
		prefix := u64(seq)
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && len(k) == 12 && string(k[:8]) == string(prefix); k, v = c.Next() {
			r, err := decodeStep(v)
			if err != nil {
				return err
			}
			out[int(binary.BigEndian.Uint32(k[8:]))] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("steps of %s: %w", id, err)
	}
	return out, nil
}

// Artifact is a file a job left, with its bytes.
type Artifact struct {
	Path string
	Data []byte
}

// PutFiles records the artifacts of job id, replacing any it had: each
// file's bytes are kept once under their sha256, however many jobs left
// them. Of two files of one path, the later is kept.
func (s *Store) PutFiles(id string, files []Artifact) error {
	err := s.commit.do(&putFilesCmd{ID: id, Files: files})
	if err != nil {
		return fmt.Errorf("put files of %s: %w", id, err)
	}
	return nil
}

// blobs are the buckets of artifacts: the file records, the bytes by
// hash, and the count of file records naming each hash. The count is a
// record of its own so that changing it never rewrites the bytes.
type blobs struct{ files, blobs, refs *bolt.Bucket }

func blobBuckets(tx *bolt.Tx) (blobs, error) {
	var bs blobs
	var err error
	for _, b := range []struct {
		dst  **bolt.Bucket
		name []byte
	}{{&bs.files, bucketFiles}, {&bs.blobs, bucketBlobs}, {&bs.refs, bucketRefs}} {
		if *b.dst, err = tx.CreateBucketIfNotExists(b.name); err != nil {
			return blobs{}, err
		}
	}
	return bs, nil
}

// ref adds d references to blob h (whose bytes are data, needed only when
// it is new), deleting it at none.
func (bs blobs) ref(h string, data []byte, d int64) error {
	var n int64
	if v := bs.refs.Get([]byte(h)); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += d
	if n <= 0 {
		if err := bs.refs.Delete([]byte(h)); err != nil {
			return err
		}
		return bs.blobs.Delete([]byte(h))
	}
	if n == d { // new
		if err := bs.blobs.Put([]byte(h), data); err != nil {
			return err
		}
	}
	return bs.refs.Put([]byte(h), u64(uint64(n)))
}

// drop deletes the file records of job seq and their blobs' references.
func (bs blobs) drop(seq uint64) error {
	prefix := u64(seq)
	c := bs.files.Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) >= 8 && string(k[:8]) == string(prefix); k, v = c.Seek(prefix) {
		if _, n := binary.Uvarint(v); n > 0 {
			if err := bs.ref(string(v[n:]), nil, -1); err != nil {
				return err
			}
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// Files lists the artifacts of job id, in path order.
func (s *Store) Files(id string) ([]api.File, error) {
	var out []api.File
	err := s.view(func(tx *bolt.Tx) error {
		seq, err := taskSeq(tx, id)
		if err != nil {
			return err
		}
		fb := tx.Bucket(bucketFiles)
		if fb == nil {
			return nil
		}
		prefix := u64(seq)
		c := fb.Cursor()
		for k, v := c.Seek(prefix); k != nil && len(k) >= 8 && string(k[:8]) == string(prefix); k, v = c.Next() {
			size, n := binary.Uvarint(v)
			if n <= 0 {
				return fmt.Errorf("%w: a file record of %s", ErrCorrupt, id)
			}
			out = append(out, api.File{Path: string(k[8:]), Size: int64(size), SHA256: string(v[n:])})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("files of %s: %w", id, err)
	}
	return out, nil
}

// File returns the bytes of the artifact at path of job id.
func (s *Store) File(id, path string) (api.File, []byte, error) {
	var f api.File
	var data []byte
	err := s.view(func(tx *bolt.Tx) error {
		seq, err := taskSeq(tx, id)
		if err != nil {
			return err
		}
		fb, bb := tx.Bucket(bucketFiles), tx.Bucket(bucketBlobs)
		if fb == nil || bb == nil {
			return ErrNotFound
		}
		v := fb.Get(append(u64(seq), path...))
		if v == nil {
			return ErrNotFound
		}
		size, n := binary.Uvarint(v)
		if n <= 0 {
			return fmt.Errorf("%w: a file record of %s", ErrCorrupt, id)
		}
		f = api.File{Path: path, Size: int64(size), SHA256: string(v[n:])}
		blob := bb.Get(v[n:])
		if uint64(len(blob)) != size {
			return fmt.Errorf("%w: the bytes of %s", ErrCorrupt, f.SHA256)
		}
		data = append([]byte(nil), blob...)
		return nil
	})
	if err != nil {
		return api.File{}, nil, fmt.Errorf("file %s of %s: %w", path, id, err)
	}
	return f, data, nil
}

// AddCallback records a delivery attempt of job id's callback, keeping
// its latest keep attempts.
func (s *Store) AddCallback(id string, a api.Callback, keep int) error {
	err := s.commit.do(&addCallbackCmd{ID: id, Callback: a, Keep: keep})
	if err != nil {
		return fmt.Errorf("add callback of %s: %w", id, err)
	}
	return nil
}

// Callbacks returns the recorded delivery attempts of job id's callback.
func (s *Store) Callbacks(id string) ([]api.Callback, error) {
	var list []api.Callback
	err := s.view(func(tx *bolt.Tx) error {
		seq, err := taskSeq(tx, id)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketHooks)
		if b == nil {
			return nil
		}
		if v := b.Get(u64(seq)); v != nil {
			return json.Unmarshal(v, &list)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("callbacks of %s: %w", id, err)
	}
	return list, nil
}

// deleteJob deletes what a job keeps besides its task: its steps, files
// and callback attempts (purge.go).
func deleteJob(tx *bolt.Tx, seq uint64) error {
	if b := tx.Bucket(bucketHooks); b != nil {
		if err := b.Delete(u64(seq)); err != nil {
			return err
		}
	}
	if b := tx.Bucket(bucketSteps); b != nil {
		if _, _, err := deletePrefix(b, u64(seq)); err != nil {
			return err
		}
	}
	if tx.Bucket(bucketFiles) == nil {
		return nil
	}
	bs, err := blobBuckets(tx)
	if err != nil {
		return err
	}
	return bs.drop(seq)
}

// NameTakenError is NameModule's error for a name another owner gave.
type NameTakenError struct{ Name, Owner string }

func (e *NameTakenError) Error() string {
	return fmt.Sprintf("module name %s was given by %s", e.Name, e.Owner)
}

// NameModule makes name a name of the module with sha256 hash, which must
// be stored; a name given before moves to it (like an image's tag),
// unless another owner gave it and force is false (*NameTakenError).
// owner is who names it ("" without tokens).
func (s *Store) NameModule(name, hash, owner string, force bool) error {
	err := s.commit.do(&nameModuleCmd{Name: name, Hash: hash, Owner: owner, Force: force})
	if err != nil {
		return fmt.Errorf("name module %s %s: %w", hash, name, err)
	}
	return nil
}

// splitName reads a names record: the hash, then who gave the name.
func splitName(v []byte) (hash, owner string) {
	if len(v) < 64 {
		return string(v), ""
	}
	return string(v[:64]), string(v[64:])
}

// ModuleNamed returns the sha256 of the module named name.
func (s *Store) ModuleNamed(name string) (string, error) {
	var h string
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNames)
		if b == nil {
			return ErrNotFound
		}
		v := b.Get([]byte(name))
		if v == nil {
			return ErrNotFound
		}
		h, _ = splitName(v)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("module named %s: %w", name, err)
	}
	return h, nil
}

// ModuleNames lists every name given to a module, with its hash.
func (s *Store) ModuleNames() (map[string]string, error) {
	out := map[string]string{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNames)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			out[string(k)], _ = splitName(v)
			return nil
		})
	})
	return out, err
}

// bundleKey is the key of file path of bundle name: the name, a zero
// byte (no name holds one), the path.
func bundleKey(name, path string) []byte {
	return append(append([]byte(name), 0), path...)
}

// PutBundle records the files deployed under name, replacing any it had;
// their bytes are kept as artifacts' are, once by their sha256.
func (s *Store) PutBundle(name string, files []Artifact) error {
	err := s.commit.do(&putBundleCmd{Name: name, Files: files})
	if err != nil {
		return fmt.Errorf("put bundle %s: %w", name, err)
	}
	return nil
}

// Bundle lists the files deployed under name, in path order; ErrNotFound
// when none are.
func (s *Store) Bundle(name string) ([]api.File, error) {
	var out []api.File
	err := s.view(func(tx *bolt.Tx) error {
		nb := tx.Bucket(bucketBundles)
		if nb == nil {
			return ErrNotFound
		}
		prefix := bundleKey(name, "")
		c := nb.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			size, n := binary.Uvarint(v)
			if n <= 0 {
				return fmt.Errorf("%w: a file of bundle %s", ErrCorrupt, name)
			}
			out = append(out, api.File{Path: string(k[len(prefix):]), Size: int64(size), SHA256: string(v[n:])})
		}
		if out == nil {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", name, err)
	}
	return out, nil
}

// Blob returns the bytes kept under sha256 hash (an artifact's or a
// deployed file's).
func (s *Store) Blob(hash string) ([]byte, error) {
	var b []byte
	err := s.view(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBlobs)
		if bb == nil {
			return ErrNotFound
		}
		v := bb.Get([]byte(hash))
		if v == nil {
			return ErrNotFound
		}
		b = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", hash, err)
	}
	return b, nil
}
