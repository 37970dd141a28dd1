package api

import (
	"net/url"
	"strconv"
	"strings"
)

// GET /tasks answers one page of the task list: a JSON array of Task,
// newest first unless Order is OrderAsc. When more tasks follow, the
// answer names the next page twice: a Link header (RFC 8288)
// `</tasks?...&after=CURSOR>; rel="next"` with the same query, and the
// cursor alone in HeaderNextCursor. The last page has neither. A cursor is
// opaque: pass it back as it is, with the same order and statuses.
//
// With statuses, a page looks at no more than ScanBudget tasks, so a
// status few tasks have may give a short page, even an empty one, that
// still has a next cursor: keep following it until there is none.
//
// Every answer of GET /tasks carries HeaderRevision and an ETag made of
// it; a request with If-None-Match of that ETag gets 304 Not Modified,
// without a body, while no task has changed.

// The query parameters of GET /tasks and GET /tasks/{id}.
const (
	ParamLimit  = "limit"  // tasks in a page: 1 to MaxTaskLimit, default DefaultTaskLimit
	ParamAfter  = "after"  // the cursor of the page before
	ParamOrder  = "order"  // OrderDesc (default) or OrderAsc
	ParamStatus = "status" // only tasks of these statuses: repeated, or comma-separated
	ParamRuns   = "runs"   // at most this many runs a task: the latest ones
	// ParamPurge on DELETE /tasks/{id}: 1 deletes the task with its runs,
	// results and logs (canceling it first if it has not ended), and
	// answers 204.
	ParamPurge = "purge"
)

// The headers of the task list and of a task.
const (
	// HeaderNextCursor is the cursor of the next page, when there is one.
	HeaderNextCursor = "X-Next-Cursor"
	// HeaderRevision changes whenever any task changes (is submitted,
	// changes status, a run starts or ends). It is a number to compare
	// for equality: it grows while the gateway runs, and a restarted
	// gateway starts from its clock, so values do not repeat.
	HeaderRevision = "X-Revision"
	// HeaderRunsTotal is the number of runs of the task (GET
	// /tasks/{id}), of which the answer holds the latest ones.
	HeaderRunsTotal = "X-Runs-Total"
)

// Limits of the task list.
const (
	DefaultTaskLimit = 100
	MaxTaskLimit     = 1000
	// ScanBudget bounds the tasks one page with statuses, or for a token
	// that sees only its own tasks, looks at.
	ScanBudget = 10_000
	// DefaultRuns is how many runs a task shows when ParamRuns is not
	// given: all of them, unless the task has more, when it shows the
	// latest DefaultRuns (Task.Repeats is the number of all its runs).
	DefaultRuns = 10_000
)

// Order is the order of the task list.
type Order string

// The orders of the task list.
const (
	OrderDesc Order = "desc" // newest first
	OrderAsc  Order = "asc"  // creation order
)

// TaskQuery asks for one page of the task list. Its zero value is the
// first page, newest first, of DefaultTaskLimit tasks of any status.
type TaskQuery struct {
	Limit  int      // 0 is DefaultTaskLimit
	After  string   // "" is the first page
	Order  Order    // "" is OrderDesc
	Status []Status // none is every status
	// Runs bounds the runs of each task; nil is the default (DefaultRuns).
	Runs *int
}

// Values is q as the query of GET /tasks; zero fields are left out.
func (q TaskQuery) Values() url.Values {
	v := url.Values{}
	if q.Limit != 0 {
		v.Set(ParamLimit, strconv.Itoa(q.Limit))
	}
	if q.Order != "" {
		v.Set(ParamOrder, string(q.Order))
	}
	if len(q.Status) > 0 {
		s := make([]string, len(q.Status))
		for i, x := range q.Status {
			s[i] = string(x)
		}
		v.Set(ParamStatus, strings.Join(s, ","))
	}
	if q.Runs != nil {
		v.Set(ParamRuns, strconv.Itoa(*q.Runs))
	}
	if q.After != "" {
		v.Set(ParamAfter, q.After)
	}
	return v
}

// ParseTaskQuery reads the query of GET /tasks; a bad parameter is a
// CodeInvalid error naming it. The cursor is not checked: it is the
// gateway's to read.
func ParseTaskQuery(v url.Values) (TaskQuery, error) {
	q := TaskQuery{Limit: DefaultTaskLimit, Order: OrderDesc, After: v.Get(ParamAfter)}
	if x := v.Get(ParamLimit); x != "" {
		n, err := strconv.Atoi(x)
		if err != nil || n < 1 || n > MaxTaskLimit {
			return q, Invalid(ParamLimit, "%q is not a number from 1 to %d", x, MaxTaskLimit)
		}
		q.Limit = n
	}
	switch x := Order(v.Get(ParamOrder)); x {
	case "":
	case OrderAsc, OrderDesc:
		q.Order = x
	default:
		return q, Invalid(ParamOrder, "%q is neither %s nor %s", x, OrderAsc, OrderDesc)
	}
	for _, x := range v[ParamStatus] {
		for _, s := range strings.Split(x, ",") {
			st := Status(strings.TrimSpace(s))
			if st == "" {
				continue
			}
			if !validStatus(st) {
				return q, Invalid(ParamStatus, "%q is not a status (%s)", st, statusList())
			}
			q.Status = append(q.Status, st)
		}
	}
	runs, err := ParseRuns(v)
	q.Runs = runs
	return q, err
}

// ParseRuns reads ParamRuns: nil when it is absent.
func ParseRuns(v url.Values) (*int, error) {
	x := v.Get(ParamRuns)
	if x == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(x)
	if err != nil || n < 0 || n > MaxRepeats {
		return nil, Invalid(ParamRuns, "%q is not a number from 0 to %d", x, MaxRepeats)
	}
	return &n, nil
}

// RunsShown is how many runs a task of total runs shows when asked for
// runs (nil: the default).
func RunsShown(runs *int, total int) int {
	if runs == nil {
		return min(total, DefaultRuns)
	}
	return min(total, *runs)
}

func validStatus(s Status) bool {
	for _, x := range Statuses {
		if x == s {
			return true
		}
	}
	return false
}

func statusList() string {
	s := make([]string, len(Statuses))
	for i, x := range Statuses {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}
