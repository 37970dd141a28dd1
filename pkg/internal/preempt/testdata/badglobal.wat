;; Invalid: it sets global 0, and it has no globals. Instrumented, global 0
;; would be the budget: Instrument must refuse it.
(module
  (func (export "run") (param i32 i32) (result i32)
    (global.set 0 (i64.const 9223372036854775807))
    (i32.const 0)))
