;; WASI command that reads stdin until EOF, then returns: with nothing on
;; stdin it must end at once instead of waiting for input. It exits with
;; code 1 if fd_read fails.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; iovec at 0, nread at 8, buffer at 1024.
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 4096))
    (loop $more
      (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
        (then (call $proc_exit (i32.const 1))))
      (br_if $more (i32.load (i32.const 8))))))
