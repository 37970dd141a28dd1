;; A command that asks the host for 16 MiB of random bytes again and again:
;; a slow host call in a loop of a few instructions. The run's time limit
;; forces the next charge to yield, however much fuel was granted.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 256)
  (func (export "_start")
    (loop $again
      (drop (call $random_get (i32.const 0) (i32.const 16777216)))
      (br $again))))
