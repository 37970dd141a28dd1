;; WASI command importing shoal.spawn with the wrong signature.
(module
  (import "shoal" "spawn" (func $spawn (param i32) (result i32)))
  (func (export "_start")))
