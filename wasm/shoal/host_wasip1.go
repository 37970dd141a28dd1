//go:build wasip1

package shoal

import "unsafe"

// The shoal host module (docs/PROCESSES.md, "The shoal host module").
// Pointers are offsets into linear memory; unsafe.Pointer is an i32 there.

//go:wasmimport shoal spawn
func hostSpawn(req unsafe.Pointer, reqLen uint32) int32

//go:wasmimport shoal send
func hostSend(handle int32, msg unsafe.Pointer, msgLen uint32) int32

//go:wasmimport shoal recv
func hostRecv(handle int32, buf unsafe.Pointer, capacity uint32, timeoutMillis int64, msgLen unsafe.Pointer) int32

//go:wasmimport shoal close
func hostClose(handle int32) int32

//go:wasmimport shoal wait
func hostWait(handle int32, code unsafe.Pointer) int32

//go:wasmimport shoal last_error
func hostLastError(buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport shoal self
func hostSelf(buf unsafe.Pointer, capacity uint32) int32
