package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
//	blobs   sha256    -> references (8 bytes) then the artifact's bytes
//	names   name      -> the sha256 hex of the module it names
//	hooks   seq       -> the job's latest callback attempts, in JSON
var (
	bucketHooks = []byte("hooks")
	bucketSteps = []byte("steps")
	bucketFiles = []byte("files")
	bucketBlobs = []byte("blobs")
	bucketNames = []byte("names")
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
	err := s.commit.do(func(tx *bolt.Tx) error {
		seq, err := taskSeq(tx, id)
		if err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(bucketSteps)
		if err != nil {
			return err
		}
		for i, r := range steps {
			if err := b.Put(stepKey(seq, i), encodeStep(&r)); err != nil {
				return err
			}
		}
		return nil
	})
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
// them.
func (s *Store) PutFiles(id string, files []Artifact) error {
	err := s.commit.do(func(tx *bolt.Tx) error {
		seq, err := taskSeq(tx, id)
		if err != nil {
			return err
		}
		fb, err := tx.CreateBucketIfNotExists(bucketFiles)
		if err != nil {
			return err
		}
		bb, err := tx.CreateBucketIfNotExists(bucketBlobs)
		if err != nil {
			return err
		}
		if err := dropFiles(fb, bb, seq); err != nil {
			return err
		}
		for _, f := range files {
			sum := sha256.Sum256(f.Data)
			h := hex.EncodeToString(sum[:])
			if err := refBlob(bb, h, f.Data, 1); err != nil {
				return err
			}
			v := binary.AppendUvarint(nil, uint64(len(f.Data)))
			v = append(v, h...)
			if err := fb.Put(append(u64(seq), f.Path...), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put files of %s: %w", id, err)
	}
	return nil
}

// refBlob adds d references to blob h (whose bytes are data, needed only
// when it is new), deleting it at none.
func refBlob(bb *bolt.Bucket, h string, data []byte, d int64) error {
	old := bb.Get([]byte(h))
	var n int64
	if len(old) >= 8 {
		n = int64(binary.BigEndian.Uint64(old[:8]))
	}
	n += d
	if n <= 0 {
		return bb.Delete([]byte(h))
	}
	if old != nil {
		data = old[8:]
	}
	v := make([]byte, 8, 8+len(data))
	binary.BigEndian.PutUint64(v, uint64(n))
	return bb.Put([]byte(h), append(v, data...))
}

// dropFiles deletes the file records of job seq and their blobs'
// references.
func dropFiles(fb, bb *bolt.Bucket, seq uint64) error {
	prefix := u64(seq)
	c := fb.Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) >= 8 && string(k[:8]) == string(prefix); k, v = c.Seek(prefix) {
		_, n := binary.Uvarint(v)
		if n > 0 {
			if err := refBlob(bb, string(v[n:]), nil, -1); err != nil {
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
		if len(blob) < 8 || uint64(len(blob)-8) != size {
			return fmt.Errorf("%w: the bytes of %s", ErrCorrupt, f.SHA256)
		}
		data = append([]byte(nil), blob[8:]...)
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
	err := s.commit.do(func(tx *bolt.Tx) error {
		seq, err := taskSeq(tx, id)
		if err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(bucketHooks)
		if err != nil {
			return err
		}
		var list []api.Callback
		if v := b.Get(u64(seq)); v != nil {
			if err := json.Unmarshal(v, &list); err != nil {
				return fmt.Errorf("%w: the callbacks of %s: %v", ErrCorrupt, id, err)
			}
		}
		list = append(list, a)
		if len(list) > keep {
			list = list[len(list)-keep:]
		}
		v, err := json.Marshal(list)
		if err != nil {
			return err
		}
		return b.Put(u64(seq), v)
	})
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
	fb, bb := tx.Bucket(bucketFiles), tx.Bucket(bucketBlobs)
	if fb == nil || bb == nil {
		return nil
	}
	return dropFiles(fb, bb, seq)
}

// NameModule makes name a name of the module with sha256 hash, which must
// be stored; a name given before moves to it (like an image's tag).
func (s *Store) NameModule(name, hash string) error {
	err := s.commit.do(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketModules).Get([]byte(hash)) == nil {
			return ErrNotFound
		}
		b, err := tx.CreateBucketIfNotExists(bucketNames)
		if err != nil {
			return err
		}
		return b.Put([]byte(name), []byte(hash))
	})
	if err != nil {
		return fmt.Errorf("name module %s %s: %w", hash, name, err)
	}
	return nil
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
		h = string(v)
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
			out[string(k)] = string(v)
			return nil
		})
	})
	return out, err
}
