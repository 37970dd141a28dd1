;; ww ABI: run(case, arg) makes one of the shoal process calls and returns
;; what it returned (see process_test.go). Children spawned run case 0.
;; Memory: 512 "ping", 1024 a 64-byte buffer, 2048 a length, 2052 a code.
(module
  (import "shoal" "spawn" (func $spawn (param i32 i32) (result i32)))
  (import "shoal" "send" (func $send (param i32 i32 i32) (result i32)))
  (import "shoal" "recv" (func $recv (param i32 i32 i32 i64 i32) (result i32)))
  (import "shoal" "close" (func $close (param i32) (result i32)))
  (import "shoal" "wait" (func $wait (param i32 i32) (result i32)))
  (import "shoal" "last_error" (func $last_error (param i32 i32) (result i32)))
  (import "shoal" "self" (func $self (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 512) "ping")
  (func (export "run") (param $case i32) (param $arg i32) (result i32)
    (local $h i32) (local $r i32)
    ;; 0: a child: echo one message from the parent, then return.
    (if (i32.eqz (local.get $case)) (then
      (local.set $r (call $recv (i32.const 0) (i32.const 1024) (i32.const 64) (i64.const -1) (i32.const 2048)))
      (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (local.get $r))))
      (return (call $send (i32.const 0) (i32.const 1024) (i32.load (i32.const 2048))))))
    ;; 1: spawn.
    (if (i32.eq (local.get $case) (i32.const 1)) (then
      (return (call $spawn (i32.const 0) (i32.const 0)))))
    ;; 2: recv from a silent child with a timeout of arg ms.
    (if (i32.eq (local.get $case) (i32.const 2)) (then
      (local.set $h (call $spawn (i32.const 0) (i32.const 0)))
      (return (call $recv (local.get $h) (i32.const 1024) (i32.const 64) (i64.extend_i32_s (local.get $arg)) (i32.const 2048)))))
    ;; 3: spawn with a request outside memory.
    (if (i32.eq (local.get $case) (i32.const 3)) (then
      (return (call $spawn (i32.const -16) (i32.const 100)))))
    ;; 4: send a message running past the end of memory.
    (if (i32.eq (local.get $case) (i32.const 4)) (then
      (local.set $h (call $spawn (i32.const 0) (i32.const 0)))
      (return (call $send (local.get $h) (i32.const 65530) (i32.const 100)))))
    ;; 5: recv with len_ptr at the end of memory.
    (if (i32.eq (local.get $case) (i32.const 5)) (then
      (local.set $h (call $spawn (i32.const 0) (i32.const 0)))
      (return (call $recv (local.get $h) (i32.const 1024) (i32.const 64) (i64.const 0) (i32.const 65534)))))
    ;; 6: recv from a silent child, as long as the run may.
    (if (i32.eq (local.get $case) (i32.const 6)) (then
      (local.set $h (call $spawn (i32.const 0) (i32.const 0)))
      (return (call $recv (local.get $h) (i32.const 1024) (i32.const 64) (i64.const -1) (i32.const 2048)))))
    ;; 7: a bad request, then the length of last_error's text.
    (if (i32.eq (local.get $case) (i32.const 7)) (then
      (drop (call $spawn (i32.const 512) (i32.const 4)))
      (return (call $last_error (i32.const 1024) (i32.const 64)))))
    ;; 8: the length of self's key.
    (if (i32.eq (local.get $case) (i32.const 8)) (then
      (return (call $self (i32.const 1024) (i32.const 64)))))
    ;; 9: wait for the parent.
    (if (i32.eq (local.get $case) (i32.const 9)) (then
      (return (call $wait (i32.const 0) (i32.const 2052)))))
    ;; 10: round trip: spawn, send "ping", recv into 2 bytes (ERR_TOO_BIG,
    ;; length 4), recv again into 64, wait; returns 1000 * the child's
    ;; code + the length, or 100 + the step that went wrong.
    (if (i32.eq (local.get $case) (i32.const 10)) (then
      (local.set $h (call $spawn (i32.const 0) (i32.const 0)))
      (if (i32.ne (local.get $h) (i32.const 1)) (then (return (i32.const 101))))
      (if (call $send (local.get $h) (i32.const 512) (i32.const 4)) (then (return (i32.const 102))))
      (if (i32.ne (call $recv (local.get $h) (i32.const 1024) (i32.const 2) (i64.const -1) (i32.const 2048)) (i32.const -5))
        (then (return (i32.const 103))))
      (if (i32.ne (i32.load (i32.const 2048)) (i32.const 4)) (then (return (i32.const 104))))
      (if (call $recv (local.get $h) (i32.const 1024) (i32.const 64) (i64.const -1) (i32.const 2048))
        (then (return (i32.const 105))))
      (if (i32.ne (i32.load (i32.const 1024)) (i32.load (i32.const 512))) (then (return (i32.const 106))))
      (if (call $close (local.get $h)) (then (return (i32.const 107))))
      (if (call $wait (local.get $h) (i32.const 2052)) (then (return (i32.const 108))))
      (return (i32.add (i32.mul (i32.load (i32.const 2052)) (i32.const 1000)) (i32.load (i32.const 2048))))))
    (i32.const -100)))
