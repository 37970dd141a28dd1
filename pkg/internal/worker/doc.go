// Package worker is the worker role of a Shoal node. It dials the gateway,
// sends an offer carrying its Worker capability into the gateway's channel,
// and serves Worker.run: it fetches a module it does not hold from the
// ModuleSource passed with the run (verifying its sha256), compiles it once,
// runs it in a fresh wazero instance within the run's limits, and streams the
// output into the run's LogSink. When the connection to the gateway ends,
// the worker finds the gateway again and re-offers, by itself.
package worker
