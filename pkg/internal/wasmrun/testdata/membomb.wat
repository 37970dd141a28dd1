;; WASI command that grows its memory a page at a time until memory.grow
;; fails, then traps.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (block $full
      (loop $grow
        (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $grow)))
    unreachable))
