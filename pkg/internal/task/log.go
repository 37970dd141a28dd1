package task

import "time"

// LogEntry is one chunk of a run's output, as the worker wrote it.
type LogEntry struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Run     int       `json:"run"`
	Attempt int       `json:"attempt"`
	Stream  string    `json:"stream"` // "stdout" or "stderr"
	Data    string    `json:"data"`
}
