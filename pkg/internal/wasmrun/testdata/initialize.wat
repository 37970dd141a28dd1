;; ww ABI reactor: _initialize sets a global that run adds to its arguments.
(module
  (global $base (mut i32) (i32.const 0))
  (func (export "_initialize")
    (global.set $base (i32.const 1000)))
  (func (export "run") (param i32 i32) (result i32)
    (i32.add (global.get $base) (i32.add (local.get 0) (local.get 1)))))
