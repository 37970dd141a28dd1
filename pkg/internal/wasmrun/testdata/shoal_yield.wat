;; WASI command importing shoal.yield, which only instrumentation may add.
(module
  (import "shoal" "yield" (func $yield (param i64) (result i64)))
  (func (export "_start")))
