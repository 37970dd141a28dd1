;; Function indices everywhere they appear: an imported function, calls, a
;; table filled by an active segment of indices and a passive segment of
;; ref.func expressions, a funcref global, exports, the start function and
;; the name section (wat2wasm --debug-names).
(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $one $two)
  (elem $passive funcref (ref.func $three) (ref.null func))
  (elem declare func $four)
  (global $g funcref (ref.func $four))
  (global $started (mut i32) (i32.const 0))
  (type $v2i (func (result i32)))
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func $three (result i32) (i32.const 3))
  (func $four (result i32) (i32.const 4))
  (func $init (global.set $started (i32.const 100)))
  (start $init)
  ;; run(i): table[0]() + table[1]() + table[2]() after table.init, + $four
  ;; through ref.func, + the import's add, + what start did.
  (func $run (export "run") (param $i i32) (result i32)
    (local $sum i32)
    (table.init $t $passive (i32.const 2) (i32.const 0) (i32.const 2))
    (local.set $sum (call_indirect (type $v2i) (i32.const 0)))
    (local.set $sum (i32.add (local.get $sum) (call_indirect (type $v2i) (i32.const 1))))
    (local.set $sum (i32.add (local.get $sum) (call_indirect (type $v2i) (i32.const 2))))
    (table.set $t (i32.const 3) (ref.func $four))
    (local.set $sum (i32.add (local.get $sum) (call_indirect (type $v2i) (i32.const 3))))
    (local.set $sum (call $add (local.get $sum) (local.get $i)))
    (i32.add (local.get $sum) (global.get $started)))
  (export "four" (func $four))
  (export "table" (table $t)))
