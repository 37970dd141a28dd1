;; WASI command importing a host function nobody provides.
(module
  (import "env" "foo" (func $foo))
  (func (export "_start")
    (call $foo)))
