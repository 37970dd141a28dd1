package replica

import (
	"sync"

	"github.com/hashicorp/raft"
)

// recent keeps the newest small entries of a member's log in memory, in
// front of the log: the leader sends each new entry to its followers
// from here rather than read it back from its log. It is
// hashicorp/raft's LogCache, which Consul puts in front of its log, but
// for one thing: an entry larger than recentMaxEntry (a module's upload)
// is not kept, so the cache holds at most recentEntries × recentMaxEntry
// bytes of entries, not the last 512 uploads.
type recent struct {
	raft.LogStore
	mu   sync.RWMutex
	ring []*raft.Log
}

const (
	recentEntries  = 512
	recentMaxEntry = 64 << 10
)

func newRecent(logs raft.LogStore) *recent {
	return &recent{LogStore: logs, ring: make([]*raft.Log, recentEntries)}
}

// IsMonotonic is the log's (raft.MonotonicLogStore): Raft clears a log
// that takes no gaps after it installs a snapshot.
func (c *recent) IsMonotonic() bool {
	m, ok := c.LogStore.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}

func (c *recent) GetLog(index uint64, l *raft.Log) error {
	c.mu.RLock()
	e := c.ring[index%recentEntries]
	c.mu.RUnlock()
	if e != nil && e.Index == index {
		*l = *e
		return nil
	}
	return c.LogStore.GetLog(index, l)
}

func (c *recent) StoreLog(l *raft.Log) error { return c.StoreLogs([]*raft.Log{l}) }

func (c *recent) StoreLogs(logs []*raft.Log) error {
	if err := c.LogStore.StoreLogs(logs); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range logs {
		slot := &c.ring[l.Index%recentEntries]
		if len(l.Data) <= recentMaxEntry {
			*slot = l
		} else {
			*slot = nil // not an older entry of this slot either
		}
	}
	return nil
}

// DeleteRange forgets every entry kept: Raft deletes a log's tail when a
// new leader's entries replace it, and its head when it is cut.
func (c *recent) DeleteRange(min, max uint64) error {
	c.mu.Lock()
	clear(c.ring)
	c.mu.Unlock()
	return c.LogStore.DeleteRange(min, max)
}
