// Package preempt instruments WebAssembly modules so that a host can stop
// them, and count what they ran, without the runtime's help.
//
// wazero stops running guest code only when the runtime is built with
// WithCloseOnContextDone, which makes every loop back-edge and call leave
// native code to check a flag: 3.5 to 7 times slower on real programs. The
// instrumented module checks a budget instead, kept in a wasm global, and
// calls the host only when the budget is spent.
//
// Instrument rewrites a module's bytes:
//
//   - it imports shoal.yield of type (i64) -> (i64), after the module's own
//     function imports; every defined function's index grows by one, and
//     every reference to one is fixed (call, return_call, ref.func, element
//     segments, global initializers, exports, the start function, the name
//     section, where every unnamed function is named "$N" after its
//     original index, as wazero shows it in stack traces); DWARF sections,
//     whose code offsets are no longer true, are dropped;
//   - it adds a mutable i64 global, the budget, starting at 0, exported as
//     __shoal_budget;
//   - at every function entry and every loop header it subtracts a static
//     cost N from the budget and, when the budget is below zero, calls
//     yield(budget) and stores what it returns as the new budget (a
//     stack-neutral sequence using one i64 local added to each function,
//     see code.go).
//
// N is the number of instructions of the function body outside any loop
// (at entry), or directly in the loop (not in nested loops), at least 1. So
// the unit of the budget, the fuel, is "instructions, counted statically per
// call and per loop iteration": an upper bound of the instructions executed,
// the same for the same module and inputs.
//
// A host grants a budget from yield, checks its limits there (time,
// cancellation, fuel) and ends the call when one is reached. What was used
// is the sum of grants minus the budget left in __shoal_budget.
//
// The rewriting is pure byte manipulation: every instruction but function
// indices is copied as is, and only the instruction lengths are decoded
// (the MVP, sign extension, multi-value, non-trapping conversions, bulk
// memory, reference types, SIMD, threads and tail calls). Validation is left
// to the runtime that compiles the result.
package preempt
