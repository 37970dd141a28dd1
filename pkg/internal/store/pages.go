package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// pageFile reads a bbolt file the way bbolt's read transactions do, page by
// page, for Recover. bbolt itself reads a damaged file through its memory
// map and unchecked offsets: a page past a truncated end faults, and a page
// of garbage sends it to addresses the garbage names. Here every page is
// read with ReadAt into a buffer and every offset is checked against it, so
// a damaged page is an error that loses what that page (and the pages below
// it) hold, and the walk goes on with its siblings. It reads the layout of
// bbolt's file format version 2 (go.etcd.io/bbolt/internal/common):
// little-endian, as bbolt writes it on every platform Shoal is built for.
//
// It never writes, and it reads only what the newest valid meta page
// reaches, as a read transaction of bbolt would.
type pageFile struct {
	f        io.ReaderAt
	size     int64 // bytes of the file
	pageSize int64
	meta     boltMeta
	seen     map[uint64]bool // pages walked, so garbage cannot loop the walk
	bad      []PageLoss
}

// PageLoss is a page Recover could not read: its records are lost.
type PageLoss struct {
	Bucket string // the bucket the page belongs to; "" for the tree of buckets
	Page   uint64
	Reason string
}

func (p PageLoss) String() string {
	if p.Bucket == "" {
		return fmt.Sprintf("page %d (the tree of buckets): %s", p.Page, p.Reason)
	}
	return fmt.Sprintf("page %d of bucket %s: %s", p.Page, p.Bucket, p.Reason)
}

// The bits of bbolt's format this reader needs.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	elementSize      = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHeaderSize = 16 // root pgid u64, sequence u64
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	metaSize         = 64 // magic, version, pageSize, flags u32; root bucket (16); freelist, pgid, txid, checksum u64
	maxDepth         = 64 // deeper than any real tree: a loop of pages is garbage
)

// boltMeta is a meta page's fields this reader uses.
type boltMeta struct {
	pageSize uint32
	root     uint64 // the root page of the tree of buckets
	freelist uint64
	pgid     uint64 // the high-water mark: pages at or above it are not in use
	txid     uint64
}

var le = binary.LittleEndian

// errNoMeta means neither meta page is valid: the file is not a bbolt
// database, or its first pages are damaged; nothing in it can be found.
var errNoMeta = errors.New("neither of the two meta pages at the start of the file is valid")

// openPages reads the meta pages of the file f of size bytes and keeps the
// newest valid one, as bbolt does.
func openPages(f io.ReaderAt, size int64) (*pageFile, error) {
	var metas []boltMeta
	var errs []error
	// Page 0 holds the page size; page 1 is found with it, or, when page 0
	// is damaged, at the usual page sizes.
	offsets := []int64{0}
	if m, err := readMeta(f, 0); err == nil {
		metas = append(metas, m)
		offsets = append(offsets, int64(m.pageSize))
	} else {
		errs = append(errs, fmt.Errorf("meta page 0: %w", err))
		offsets = append(offsets, 4096, 8192, 16384, 32768, 65536)
	}
	for _, off := range offsets[1:] {
		m, err := readMeta(f, off)
		if err == nil && int64(m.pageSize) == off {
			metas = append(metas, m)
			break
		}
		if len(metas) > 0 || off == 4096 {
			errs = append(errs, fmt.Errorf("meta page 1: %w", err))
		}
	}
	if len(metas) == 0 {
		return nil, fmt.Errorf("%w (%w)", errNoMeta, errors.Join(errs...))
	}
	best := metas[0]
	for _, m := range metas[1:] {
		if m.txid > best.txid {
			best = m
		}
	}
	return &pageFile{f: f, size: size, pageSize: int64(best.pageSize), meta: best, seen: map[uint64]bool{}}, nil
}

func readMeta(f io.ReaderAt, off int64) (boltMeta, error) {
	buf := make([]byte, pageHeaderSize+metaSize)
	if _, err := f.ReadAt(buf, off); err != nil {
		if errors.Is(err, io.EOF) {
			return boltMeta{}, errors.New("beyond the end of the file")
		}
		return boltMeta{}, err
	}
	b := buf[pageHeaderSize:]
	sum := fnv.New64a()
	sum.Write(b[:56])
	m := boltMeta{pageSize: le.Uint32(b[8:]), root: le.Uint64(b[16:]), freelist: le.Uint64(b[32:]), pgid: le.Uint64(b[40:]), txid: le.Uint64(b[48:])}
	switch {
	case le.Uint32(b) != boltMagic:
		return m, errors.New("no bbolt magic number")
	case le.Uint32(b[4:]) != boltVersion:
		return m, fmt.Errorf("bbolt format version %d, not %d", le.Uint32(b[4:]), boltVersion)
	case le.Uint64(b[56:]) != sum.Sum64():
		return m, errors.New("checksum mismatch")
	case m.pageSize < 512 || m.pageSize > 1<<20 || m.pageSize&(m.pageSize-1) != 0:
		return m, fmt.Errorf("page size %d", m.pageSize)
	}
	return m, nil
}

// reach is how many bytes of the file the newest meta page's tree may use.
func (p *pageFile) reach() int64 { return int64(p.meta.pgid) * p.pageSize }

// page reads page id and the overflow pages that continue it, and checks
// that it is a branch or leaf page that knows itself as id.
func (p *pageFile) page(id uint64) ([]byte, error) {
	if id < 2 || id >= p.meta.pgid {
		return nil, fmt.Errorf("page id out of range (the file has pages 2 to %d)", p.meta.pgid-1)
	}
	off := int64(id) * p.pageSize
	if off+p.pageSize > p.size {
		return nil, fmt.Errorf("beyond the end of the file (%d bytes; the page is at %d)", p.size, off)
	}
	head := make([]byte, pageHeaderSize)
	if _, err := p.f.ReadAt(head, off); err != nil {
		return nil, err
	}
	if got := le.Uint64(head); got != id {
		return nil, fmt.Errorf("the page says it is page %d", got)
	}
	if flags := le.Uint16(head[8:]); flags != branchPageFlag && flags != leafPageFlag {
		return nil, fmt.Errorf("neither a branch nor a leaf page (flags %#x)", flags)
	}
	n := int64(le.Uint32(head[12:])) + 1
	if n > (p.size-off)/p.pageSize || id+uint64(n) > p.meta.pgid {
		return nil, fmt.Errorf("%d overflow pages, beyond the end of the file (%d bytes)", n-1, p.size)
	}
	buf := make([]byte, n*p.pageSize)
	if _, err := p.f.ReadAt(buf, off); err != nil {
		return nil, err
	}
	return buf, nil
}

// leafFunc is called with each key and value of a leaf page, in key
// order. Both are valid only during the call. bucket says the value is a
// nested bucket's header (and inline page), not a record.
type leafFunc func(k, v []byte, bucket bool)

// tree is where a bucket's records are: its leaf pages in key order, or
// its inline page.
type tree struct {
	leaves []uint64
	inline []byte
}

// collect finds the leaf pages of the bucket whose header (and inline
// page) is hdr, walking its branch pages. Pages it cannot read are
// recorded under name and skipped, so a damaged page loses what is below
// it and nothing else; the leaves below are looked for again by orphans.
func (p *pageFile) collect(name string, hdr []byte) tree {
	if len(hdr) < bucketHeaderSize {
		p.lose(name, 0, fmt.Sprintf("bucket header of %d bytes", len(hdr)))
		return tree{}
	}
	root := le.Uint64(hdr)
	if root == 0 { // an inline bucket: its one page follows the header
		return tree{inline: hdr[bucketHeaderSize:]}
	}
	var t tree
	p.collectPage(name, root, 0, &t)
	return t
}

func (p *pageFile) collectPage(name string, id uint64, depth int, t *tree) {
	if depth > maxDepth {
		p.lose(name, id, "the tree is deeper than any bbolt tree")
		return
	}
	if p.seen[id] {
		p.lose(name, id, "reached twice: the tree loops")
		return
	}
	p.seen[id] = true
	buf, err := p.page(id)
	if err != nil {
		p.lose(name, id, err.Error())
		return
	}
	if le.Uint16(buf[8:]) == leafPageFlag {
		t.leaves = append(t.leaves, id)
		return
	}
	count := int(le.Uint16(buf[10:]))
	if pageHeaderSize+count*elementSize > len(buf) {
		p.lose(name, id, fmt.Sprintf("%d elements do not fit in the page", count))
		return
	}
	for i := range count {
		at := pageHeaderSize + i*elementSize
		p.collectPage(name, le.Uint64(buf[at+8:]), depth+1, t)
	}
}

// walk calls fn with every element of the tree t of bucket name.
func (p *pageFile) walk(name string, t tree, fn leafFunc) {
	if t.inline != nil {
		if err := leafElements(t.inline, fn); err != nil {
			p.lose(name, 0, "inline page: "+err.Error())
		}
		return
	}
	for _, id := range t.leaves {
		p.walkLeaf(name, id, fn)
	}
}

func (p *pageFile) walkLeaf(name string, id uint64, fn leafFunc) {
	buf, err := p.page(id)
	if err == nil {
		err = leafElements(buf, fn)
	}
	if err != nil {
		p.lose(name, id, err.Error())
	}
}

// leafElements calls fn with the elements of the leaf page in buf. A bad
// element ends the page: the ones before it were good.
func leafElements(buf []byte, fn leafFunc) error {
	if len(buf) < pageHeaderSize {
		return errors.New("shorter than a page header")
	}
	flags, count := le.Uint16(buf[8:]), int(le.Uint16(buf[10:]))
	if flags != leafPageFlag {
		return fmt.Errorf("not a leaf page (flags %#x)", flags)
	}
	if pageHeaderSize+count*elementSize > len(buf) {
		return fmt.Errorf("%d elements do not fit in the page", count)
	}
	for i := range count {
		at := pageHeaderSize + i*elementSize
		e := buf[at : at+elementSize]
		pos, ksize, vsize := uint64(le.Uint32(e[4:])), uint64(le.Uint32(e[8:])), uint64(le.Uint32(e[12:]))
		start, end := uint64(at)+pos, uint64(at)+pos+ksize+vsize
		if end > uint64(len(buf)) {
			return fmt.Errorf("element %d of %d reaches past the page", i, count)
		}
		fn(buf[start:start+ksize], buf[start+ksize:end], le.Uint32(e)&bucketLeafFlag != 0)
	}
	return nil
}

// orphans returns the leaf pages in the file that no tree reached and the
// freelist does not list as free, each with its bucket as classify names
// it. They are the leaves below a branch page that was lost; they may also
// be pages bbolt freed without the freelist saying so (when the freelist's
// own page is lost), holding older versions of records.
func (p *pageFile) orphans(classify func(page []byte) string) map[string][]uint64 {
	free := p.free()
	out := map[string][]uint64{}
	last := min(p.meta.pgid, uint64(p.size/p.pageSize))
	head := make([]byte, pageHeaderSize)
	for id := uint64(2); id < last; id++ {
		if p.seen[id] || free[id] {
			continue
		}
		if _, err := p.f.ReadAt(head, int64(id)*p.pageSize); err != nil {
			continue
		}
		if le.Uint64(head) != id || le.Uint16(head[8:]) != leafPageFlag {
			continue
		}
		buf, err := p.page(id)
		if err != nil {
			continue
		}
		if name := classify(buf); name != "" {
			out[name] = append(out[name], id)
		}
		id += uint64(le.Uint32(head[12:])) // its overflow pages are its own
	}
	return out
}

// noFreelist is the freelist page id of a file written without one
// (bbolt's NoFreelistSync).
const noFreelist = ^uint64(0)

// isFreelist reports whether page id is a freelist page, all of it in the
// file.
func (p *pageFile) isFreelist(id uint64) bool {
	off := int64(id) * p.pageSize
	if id < 2 || id >= p.meta.pgid || off+p.pageSize > p.size {
		return false
	}
	head := make([]byte, pageHeaderSize)
	if _, err := p.f.ReadAt(head, off); err != nil || le.Uint64(head) != id || le.Uint16(head[8:]) != freelistPageFlag {
		return false
	}
	n := int64(le.Uint32(head[12:])) + 1
	return n <= (p.size-off)/p.pageSize
}

// free is the set of pages the freelist lists, empty when its page cannot
// be read.
func (p *pageFile) free() map[uint64]bool {
	free := map[uint64]bool{}
	id := p.meta.freelist
	if !p.isFreelist(id) {
		return free
	}
	off := int64(id) * p.pageSize
	head := make([]byte, pageHeaderSize)
	if _, err := p.f.ReadAt(head, off); err != nil {
		return free
	}
	n := int64(le.Uint32(head[12:])) + 1
	buf := make([]byte, n*p.pageSize)
	if _, err := p.f.ReadAt(buf, off); err != nil {
		return free
	}
	start, count := pageHeaderSize, int(le.Uint16(buf[10:]))
	if count == 0xFFFF { // the count is the first element
		count, start = int(le.Uint64(buf[pageHeaderSize:])), pageHeaderSize+8
	}
	for i := range count {
		at := start + 8*i
		if at+8 > len(buf) {
			break
		}
		free[le.Uint64(buf[at:])] = true
	}
	return free
}

func (p *pageFile) lose(bucket string, id uint64, reason string) {
	p.bad = append(p.bad, PageLoss{Bucket: bucket, Page: id, Reason: reason})
}

// buckets returns the headers of the top-level buckets, by name. The
// header's second field is the bucket's sequence.
func (p *pageFile) buckets() map[string][]byte {
	out := map[string][]byte{}
	root := make([]byte, bucketHeaderSize)
	le.PutUint64(root, p.meta.root)
	p.walk("", p.collect("", root), func(k, v []byte, bucket bool) {
		if bucket {
			out[string(k)] = append([]byte(nil), v...)
		}
	})
	return out
}

// fileSize is the size of f, for openPages.
func fileSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
