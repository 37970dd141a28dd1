package callback

import (
	"errors"
	"fmt"
	"time"
)

// Config is a Sender's configuration.
type Config struct {
	// Attempts bounds the POSTs of one status, the first included.
	Attempts int
	// First is the wait before the second attempt; each later wait
	// doubles, up to Max, and is jittered (doc.go).
	First time.Duration
	Max   time.Duration
	// Timeout bounds one POST, from dialing to the end of the answer's
	// headers; past it the attempt failed and may be retried.
	Timeout time.Duration
	// MaxPending bounds the deliveries queued for all jobs together (the
	// ones being tried included); Send drops a status past it.
	MaxPending int
	// Workers is how many deliveries are made at once, each for another
	// job.
	Workers int
	// After is the clock of the waits between attempts; nil is
	// time.After. Tests pass one that fires at once.
	After func(time.Duration) <-chan time.Time
}

// DefaultConfig returns the configuration the gateway starts with.
func DefaultConfig() Config {
	return Config{
		Attempts:   6,
		First:      500 * time.Millisecond,
		Max:        30 * time.Second,
		Timeout:    10 * time.Second,
		MaxPending: 10000,
		Workers:    8,
	}
}

// Validate reports each invalid field of c, by name.
func (c Config) Validate() error {
	var errs []error
	if c.Attempts < 1 {
		errs = append(errs, fmt.Errorf("Attempts: must be at least 1, got %d", c.Attempts))
	}
	if c.First <= 0 {
		errs = append(errs, fmt.Errorf("First: must be positive, got %v", c.First))
	}
	if c.Max < c.First {
		errs = append(errs, fmt.Errorf("Max: must be at least First (%v), got %v", c.First, c.Max))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("Timeout: must be positive, got %v", c.Timeout))
	}
	if c.MaxPending < 1 {
		errs = append(errs, fmt.Errorf("MaxPending: must be at least 1, got %d", c.MaxPending))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("Workers: must be at least 1, got %d", c.Workers))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("callback config: %w", err)
	}
	return nil
}
