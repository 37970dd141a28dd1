;; SIMD: every immediate shape (memarg, memarg and lane, lane, v128.const,
;; i8x16.shuffle) inside a loop.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10")
  (func (export "run") (param $n i32) (param $unused i32) (result i32)
    (local $v v128) (local $i i32)
    (local.set $v (v128.load offset=0 align=16 (i32.const 0)))
    (loop $l
      (local.set $v (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0
        (local.get $v) (local.get $v)))
      (local.set $v (i32x4.add (local.get $v) (v128.const i32x4 1 2 3 4)))
      (local.set $v (v128.load8_lane 3 (i32.const 5) (local.get $v)))
      (v128.store16_lane 1 (i32.const 32) (local.get $v))
      (local.set $v (i8x16.replace_lane 0 (local.get $v) (i32.const 9)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_s (local.get $i) (local.get $n))))
    (i32.add
      (i32x4.extract_lane 2 (local.get $v))
      (i32.add (i32.load16_u (i32.const 32))
        (i32x4.extract_lane 0 (v128.load32_zero (i32.const 4)))))))
