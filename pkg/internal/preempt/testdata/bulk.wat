;; Bulk memory and the saturating conversions (0xfc prefix): memory.init,
;; data.drop, memory.copy, memory.fill, table.grow, table.size, table.fill.
(module
  (memory (export "memory") 1)
  (table $t 1 funcref)
  (data $d "hello, world")
  (func $f (result i32) (i32.const 7))
  (elem declare func $f)
  (func (export "run") (param $n i32) (param $unused i32) (result i32)
    (local $i i32)
    (memory.init $d (i32.const 100) (i32.const 0) (i32.const 12))
    (data.drop $d)
    (loop $l
      (memory.copy (i32.add (i32.const 200) (i32.mul (local.get $i) (i32.const 12))) (i32.const 100) (i32.const 12))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_s (local.get $i) (local.get $n))))
    (memory.fill (i32.const 300) (i32.const 33) (i32.const 4))
    (drop (table.grow $t (ref.func $f) (i32.const 2)))
    (table.fill $t (i32.const 0) (ref.func $f) (table.size $t))
    (i32.add (i32.trunc_sat_f64_s (f64.const 1e20))
      (i32.add (i32.load8_u (i32.const 304)) (i32.load8_u (i32.const 300))))))
