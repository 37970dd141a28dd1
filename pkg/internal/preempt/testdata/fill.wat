;; fill's run(n, _) fills n bytes of memory once: 6 instructions (end
;; included), and the
;; fill charged a unit per 8 bytes of its length.
(module
  (memory 1)
  (func (export "run") (param i32 i32) (result i32)
    (memory.fill (i32.const 0) (i32.const 7) (local.get 0))
    (i32.const 0)))
