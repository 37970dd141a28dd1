// Package callback delivers a job's status to its callback URL: a POST of
// the job's JSON on every change of its status, retried with backoff,
// never blocking the job (docs/JOBS.md "Callbacks"). The gateway owns one
// Sender; it calls Send when a job's status changes and shows what the
// Sender records in the job's callbacks.
//
// # Queue
//
// Send only queues, and never blocks. At most Config.MaxPending
// deliveries are queued for all jobs together, the ones being tried
// included; a status sent past it is dropped: it is never POSTed, and
// recorded as an attempt 0 whose error says "dropped" (up to MaxPending
// drops wait to be recorded; past that, under a flood, a drop is only
// logged).
//
// # Order
//
// A job's deliveries are made one at a time, in the order they were
// sent: a job's "succeeded" is never POSTed before its "running" has been
// delivered, given up or abandoned. Different jobs' deliveries are made at once, by
// Config.Workers goroutines, each making one delivery (its attempts and
// the waits between them) then taking the next job that is ready; a job
// with more statuses queued goes to the back. So an endpoint that never
// answers holds one worker, for at most Attempts × Timeout plus the waits
// per status; other jobs wait for it only when every worker is held so.
//
// # Attempts
//
// Each POST carries the body given to Send with Content-Type
// application/json and the headers X-Shoal-Job (the job's id),
// X-Shoal-Status (the status the body tells) and X-Shoal-Attempt (1 for
// the first POST of this status). Config.Timeout bounds each one. An
// answer:
//
//   - 2xx: delivered.
//   - 408, 429 or 5xx, or no answer (a network error, the timeout): tried
//     again, up to Config.Attempts POSTs of this status.
//   - any other (3xx, 4xx): final, not retried. The default client
//     follows no redirects.
//
// The wait before attempt n+1 is Config.First doubled n-1 times, capped
// at Config.Max, then jittered down to as little as half of that at
// random, so that many jobs failing against one server do not retry in
// step.
//
// # Abandoned for a newer status
//
// Every status gets its first attempt. But a failed status is not retried
// once a newer status of the same job is queued: the body is the whole
// job, so the newer one tells all the older one did, and retrying the
// older first would only delay it. The wait is cut short when the newer
// status arrives, and the older is recorded as abandoned.
//
// # What is recorded
//
// The record function is called, from the Sender's goroutines only, with
// one api.Callback per POST: Time (when it started), Status, Attempt
// (1, 2, ...), Code (the HTTP status answered; 0 when none) and Error
// (empty if and only if delivered). The error of a delivery's last
// failed attempt ends with "; not retried" or "; gave up after
// attempt N". A status that was never or no longer POSTed has a record of
// attempt 0 whose error starts with "dropped" or "abandoned". A POST cut
// by the end of Run is not recorded.
package callback
