;; ww ABI module whose memory starts at 128 MiB.
(module
  (memory (export "memory") 2048)
  (func (export "run") (param i32 i32) (result i32)
    (i32.const 0)))
