;; ww ABI: run(n) calls a function that calls itself twice with n-1: an
;; exponential call tree with no loop (2^n calls; n = 60 never ends).
(module
  (func $tree (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 1))
      (else (i32.add
        (call $tree (i32.sub (local.get 0) (i32.const 1)))
        (call $tree (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "run") (param i32 i32) (result i32)
    (call $tree (local.get 0))))
