;; A loop of bulk memory fills, 16 MiB each: one instruction whose work
;; grows with its length operand. Instrumentation charges it by that length
;; (a unit per 8 bytes), so the run still checks its time limit about every
;; millisecond of guest time.
(module
  (memory 256)
  (func (export "run") (param i32 i32) (result i32)
    (loop $again
      (memory.fill (i32.const 0) (local.get 0) (i32.const 16777216))
      (br $again))
    (i32.const 0)))
