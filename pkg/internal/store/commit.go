package store

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// maxBatch bounds how many calls share one transaction.
const maxBatch = 1000

// committer is group commit: concurrent writers share one transaction and
// one fsync. Unlike bolt.DB.Batch it never waits on a timer: the first
// caller commits at once, and whoever arrives during that commit goes into
// the next one. A lone caller pays one commit; many callers pay one commit
// per batch. No goroutine is started: a waiting caller is handed the lead.
type committer struct {
	db    *bolt.DB
	space *space // whether the last commit failed for lack of space
	mu    sync.Mutex
	queue []*call
	busy  bool // a leader is committing; new calls wait for it
	// replicate, when set, commits each batch through a replicated log
	// (replicate.go), and pending holds the batches on their way.
	replicate Replicator
	pending   *pending
}

type call struct {
	cmd  command
	done chan error
}

// command is one write: what one call of a write method does in the
// transaction it shares (commands.go). Like the functions given to
// bolt.DB.Batch, apply may run more than once and must only change the
// database; what it finds out for its caller, it keeps in the command.
type command interface {
	apply(tx *bolt.Tx) error
}

// errLead tells a waiting caller that it commits the next batch.
var errLead = errors.New("lead the next batch")

func newCommitter(db *bolt.DB, path string) *committer {
	return &committer{db: db, space: &space{path: path}}
}

// update is db.Update with recoverCorrupt, so that a panic on a damaged
// page fails the batch instead of leaving its callers waiting forever, and
// a lack of disk space is ErrNoSpace.
func update(db *bolt.DB, fn func(*bolt.Tx) error) (err error) {
	defer recoverCorrupt(&err)
	return withNoSpace(db.Update(fn))
}

// do applies cmd in a write transaction shared with concurrent callers
// and returns when that transaction is committed (or cmd failed).
func (c *committer) do(cmd command) error {
	me := &call{cmd: cmd, done: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, me)
	lead := !c.busy
	c.busy = true
	c.mu.Unlock()
	if !lead {
		if err := <-me.done; err != errLead {
			return err
		}
	}
	c.mu.Lock()
	n := min(len(c.queue), maxBatch)
	batch := c.queue[:n:n]
	c.queue = c.queue[n:]
	c.mu.Unlock()

	c.commit(batch)

	c.mu.Lock()
	if len(c.queue) > 0 {
		c.queue[0].done <- errLead
	} else {
		c.busy = false
	}
	c.mu.Unlock()
	return <-me.done
}

// commit runs the batch in one transaction, here or, when the store is
// replicated, on every member through the log.
func (c *committer) commit(batch []*call) {
	c.mu.Lock()
	replicate := c.replicate
	c.mu.Unlock()
	if replicate != nil {
		c.replicated(batch)
		return
	}
	cmds := make([]command, len(batch))
	for i, cl := range batch {
		cmds[i] = cl.cmd
	}
	errs, err := c.apply(cmds)
	for i, cl := range batch {
		if errs[i] == nil {
			errs[i] = err
		}
		cl.done <- errs[i]
	}
}
