;; ww ABI: run returns what it finds at address 1024, at the end of its
;; initial memory and at the end of its memory once grown by difficulty
;; pages (all ORed), then writes input at those places. A fresh instance must
;; always find 0 there, even when its memory buffer is reused.
(module
  (memory (export "memory") 2)
  (func (export "run") (param i32 i32) (result i32) (local $found i32) (local $last i32)
    (local.set $found (i32.or (i32.load (i32.const 1024)) (i32.load (i32.const 131068))))
    (drop (memory.grow (local.get 1)))
    (local.set $last (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4)))
    (local.set $found (i32.or (local.get $found) (i32.load (local.get $last))))
    (i32.store (i32.const 1024) (local.get 0))
    (i32.store (i32.const 131068) (local.get 0))
    (i32.store (local.get $last) (local.get 0))
    (local.get $found)))
