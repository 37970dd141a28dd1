;; Multi-value blocks (block types that are type indices), loops with
;; parameters, br_table and nested loops.
(module
  (type $pair (func (param i32 i32) (result i32 i32)))
  ;; swap(a, b) through a block of type $pair.
  (func $swap (param i32 i32) (result i32 i32)
    (local.get 0) (local.get 1)
    (block (type $pair)
      (local.set 0) (local.set 1) (local.get 0) (local.get 1)))
  ;; sum of 1..n with a loop carrying its accumulator as a parameter.
  (func $sum (param $n i32) (result i32)
    (local $i i32)
    (i32.const 0)
    (loop $l (param i32) (result i32)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (i32.add (local.get $i))
      (br_if $l (i32.lt_s (local.get $i) (local.get $n)))))
  ;; classify(x) by br_table: 0 -> 10, 1 -> 20, else 30.
  (func $classify (param i32) (result i32)
    (block $other (block $one (block $zero
      (br_table $zero $one $other (local.get 0)))
      (return (i32.const 10)))
      (return (i32.const 20)))
    (i32.const 30))
  ;; nested loops: n*m iterations.
  (func $grid (param $n i32) (param $m i32) (result i32)
    (local $i i32) (local $j i32) (local $c i32)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $inner (i32.lt_s (local.get $j) (local.get $m))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $outer (i32.lt_s (local.get $i) (local.get $n))))
    (local.get $c))
  ;; run(a, b) mixes them: swap, sum, classify, grid.
  (func (export "run") (param i32 i32) (result i32)
    (local $x i32) (local $y i32)
    (call $swap (local.get 0) (local.get 1))
    (local.set $y) (local.set $x)
    (i32.add
      (i32.add (i32.mul (local.get $x) (i32.const 1000)) (local.get $y))
      (i32.add (call $sum (i32.const 100))
        (i32.add (call $classify (local.get 0)) (call $grid (local.get 0) (local.get 1)))))))
