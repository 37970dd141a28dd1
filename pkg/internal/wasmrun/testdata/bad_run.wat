;; Exports run with the wrong signature, and no _start.
(module
  (func (export "run") (param i32) (result i32)
    (local.get 0)))
