;; WASI command that never ends.
(module
  (func (export "_start")
    (loop $forever (br $forever))))
