;; ww ABI: run spins in a loop that calls nothing.
(module
  (func (export "run") (param i32 i32) (result i32)
    (loop $forever
      (br_if $forever (i32.eqz (i32.const 0))))
    (i32.const 0)))
