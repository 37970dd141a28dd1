// Package httpapi serves a gateway over HTTP: tasks (the ww-scheduler's
// multipart POST /tasks and the JSON views), logs (plain or server-sent
// events), modules, workers, info and health. It translates at the edge:
// forms become task.Spec, domain errors become status codes in one table
// (errors.go), and nothing internal reaches a client.
package httpapi
