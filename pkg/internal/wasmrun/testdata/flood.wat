;; WASI command that writes 128 MiB to stdout, 64 KiB of 'y' at a time, then
;; returns.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ;; page 0: iovec at 0, nwritten at 8; page 1: the bytes written.
  (memory (export "memory") 2)
  (func (export "_start") (local $i i32)
    (memory.fill (i32.const 65536) (i32.const 121) (i32.const 65536))
    (i32.store (i32.const 0) (i32.const 65536))
    (i32.store (i32.const 4) (i32.const 65536))
    (block $done
      (loop $write
        (br_if $done (i32.ge_u (local.get $i) (i32.const 2048)))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $write)))))
