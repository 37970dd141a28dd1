;; ww ABI with a _start that ends with proc_exit(0), as a C or Go main may:
;; run must still be callable, and see what _start did.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (global $base (mut i32) (i32.const 0))
  (func (export "_start")
    (global.set $base (i32.const 7))
    (call $proc_exit (i32.const 0))
    unreachable)
  (func (export "run") (param i32 i32) (result i32)
    (i32.add (global.get $base) (i32.add (local.get 0) (local.get 1)))))
