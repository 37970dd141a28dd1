;; A loop of known size: run(n) executes 3 instructions outside the loop
;; (loop, local.get, end) and 9 in each of its n iterations.
(module
  (func (export "run") (param i32 i32) (result i32)
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_s (local.get $i) (local.get 0))))
    (local.get $i)))
