//go:build !wasip1

package shoal

import "unsafe"

// Outside wasip1 there is no shoal host module: every call fails with
// ErrUnsupported, so that programs and tests that import the package build
// and run natively.

const unsupported = "the shoal host module exists only for GOOS=wasip1 modules run by a Shoal worker"

func hostSpawn(unsafe.Pointer, uint32) int32       { return codeUnsupported }
func hostSend(int32, unsafe.Pointer, uint32) int32 { return codeUnsupported }
func hostClose(int32) int32                        { return codeUnsupported }
func hostWait(int32, unsafe.Pointer) int32         { return codeUnsupported }
func hostSelf(unsafe.Pointer, uint32) int32        { return codeUnsupported }
func hostRecv(int32, unsafe.Pointer, uint32, int64, unsafe.Pointer) int32 {
	return codeUnsupported
}

func hostLastError(buf unsafe.Pointer, capacity uint32) int32 {
	copy(unsafe.Slice((*byte)(buf), capacity), unsupported)
	return int32(len(unsupported))
}
