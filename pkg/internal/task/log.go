package task

import "github.com/shoalmesh/shoal/pkg/api"

// LogEntry is one chunk of a run's output, as the worker wrote it; the
// API's type.
type LogEntry = api.LogEntry
