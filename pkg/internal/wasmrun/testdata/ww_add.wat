;; ww ABI: run(input, difficulty) returns input + difficulty.
(module
  (func (export "run") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
