// Package httpapi serves a gateway over HTTP: tasks (the ww-scheduler's
// multipart POST /tasks and the JSON views), logs (plain or server-sent
// events), modules, workers, info and health. It translates at the edge:
// forms become task.Spec, domain errors become status codes in one table
// (errors.go), and nothing internal reaches a client.
//
// With Tokens (a token file, tokens.go) every request needs
// `Authorization: Bearer TOKEN`, checked before anything else is read
// (auth.go); the token's name becomes the owner of the tasks it submits,
// which the gateway's per-owner quotas count by. MetricsHandler serves the
// metrics, health and readiness checks without a token, for a listener of
// their own; NodeHandler serves the same of any node (a worker's
// --metrics), from the node's own Prometheus registry (metrics.go).
//
// Its routes are api.Routes (a test holds the mux to the table); GET
// /openapi.json serves the document api.OpenAPI builds from it, without a
// token (openapi.go).
//
// A member of a replicated group of gateways (docs/HA.md) serves Member:
// its gateway's API while it leads; while it follows, the reads its store
// holds (NewReads, over gateway.Stored; the routes api.Routes marks
// Local), with the same tokens, roles and answers, and every other
// request passed to the leader (member.go, reads.go).
//
// The web dashboard (package dashboard) is served at / and /ui/ without a
// token: its files hold no data, and the page calls this API with the
// user's token.
package httpapi
