;; WASI command importing its memory, which the runner does not provide.
(module
  (import "env" "memory" (memory 1))
  (func (export "_start")))
