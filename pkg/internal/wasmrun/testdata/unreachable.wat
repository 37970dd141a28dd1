;; WASI command that traps at once.
(module
  (func (export "_start")
    unreachable))
