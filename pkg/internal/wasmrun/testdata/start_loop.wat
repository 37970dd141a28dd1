;; ww ABI whose start function (run at instantiation) never returns.
(module
  (func $start (loop $forever (br $forever)))
  (start $start)
  (func (export "run") (param i32 i32) (result i32) (i32.const 0)))
