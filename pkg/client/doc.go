// Package client is a typed client of a gateway's HTTP API (pkg/internal/httpapi):
// it submits tasks with the same multipart form as curl, reads tasks, logs
// and workers as the API's own JSON types, and follows a task's log as
// server-sent events until the task ends. Jobs go the same way: SubmitJob
// sends an api.JobRequest, WaitJob waits for the end, FollowJobLogs
// streams the steps' output, JobFiles and JobFile fetch the artifacts,
// and PutModule names the modules their steps use. The shoal CLI's client commands
// are built on it. WithToken sends a bearer token with every request, for a
// gateway with --api-token-file; for an https:// gateway with its own
// certificate, pass New an *http.Client that trusts it.
//
// Failures come back as an *APIError when the gateway answered with an
// error body, and wrap ErrUnreachable when no gateway answered at all.
package client
