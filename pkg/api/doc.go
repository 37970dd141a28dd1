// Package api is Shoal's HTTP contract: the types a gateway's HTTP API
// reads and writes, the task request's field table, the error type with its
// code-to-status table, and the parsers of durations and sizes that the API
// and the CLI share. It imports only the standard library, so a program
// that talks to a gateway (through pkg/client or its own HTTP calls) links
// nothing else of Shoal.
//
// A task request field is declared once, in TaskFields: the gateway's
// multipart parser and JSON batch decoder, the Go client's form encoder and
// the CLI's `shoal submit` flags are all built from that table.
//
// An endpoint is declared once too, in Routes: its method and path, query
// parameters, body, answer and error codes. OpenAPI builds the API's
// OpenAPI 3 document (GET /openapi.json) from Routes, TaskFields and the
// answers' Go types; the gateway's tests check that it serves exactly
// Routes, and that its answers match the document.
//
// Errors: every error answer of the API is an *Error, JSON
// {"error": message, "field": name, "code": code}. Its Code decides the
// HTTP status (Code.Status), and errors.Is(err, ErrNotFound) and the other
// ErrXxx values match any *Error of the same code, on either side of HTTP.
package api
