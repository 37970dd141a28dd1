;; WASI command: prints each argv entry, then each env entry, one per line,
;; then copies stdin to stdout until EOF.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  ;; 0: iovec, 8: nwritten, 16: argc, 20: argv size, 24: envc, 28: env size,
  ;; 40: read iovec, 48: nread, 100: "\n", 1024: argv pointers,
  ;; 2048: env pointers, 16384: argv strings, 32768: env strings,
  ;; 65536: stdin buffer.
  (memory (export "memory") 2)
  (data (i32.const 100) "\n")

  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  (func $strlen (param $p i32) (result i32) (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  (func $putsAll (param $ptrs i32) (param $count i32) (local $i i32) (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $s (i32.load (i32.add (local.get $ptrs) (i32.shl (local.get $i) (i32.const 2)))))
        (call $write (local.get $s) (call $strlen (local.get $s)))
        (call $write (i32.const 100) (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  (func (export "_start") (local $n i32)
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $args_get (i32.const 1024) (i32.const 16384)))
    (call $putsAll (i32.const 1024) (i32.load (i32.const 16)))
    (drop (call $environ_sizes_get (i32.const 24) (i32.const 28)))
    (drop (call $environ_get (i32.const 2048) (i32.const 32768)))
    (call $putsAll (i32.const 2048) (i32.load (i32.const 24)))
    (block $eof
      (loop $more
        (i32.store (i32.const 40) (i32.const 65536))
        (i32.store (i32.const 44) (i32.const 4096))
        (br_if $eof (call $fd_read (i32.const 0) (i32.const 40) (i32.const 1) (i32.const 48)))
        (local.set $n (i32.load (i32.const 48)))
        (br_if $eof (i32.eqz (local.get $n)))
        (call $write (i32.const 65536) (local.get $n))
        (br $more)))))
