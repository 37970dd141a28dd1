;; Exports neither run nor _start.
(module
  (func (export "main") (result i32)
    (i32.const 0)))
