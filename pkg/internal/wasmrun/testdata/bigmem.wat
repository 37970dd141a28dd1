;; ww ABI module whose memory starts at 32 MiB.
(module
  (memory (export "memory") 512)
  (func (export "run") (param i32 i32) (result i32)
    (i32.const 0)))
