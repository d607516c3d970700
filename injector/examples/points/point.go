// A named point from Go, through cgo: faultline_point is declared weak, so the program links
// and runs without the shim, and the wrapper calls it only when the preloaded shim defines it.
//
//	go build -o point . && faultline inject --rule 'point:plan.apply -> fail(EIO)' -- ./point
package main

/*
#include <stdlib.h>

extern int faultline_point(const char* name) __attribute__((weak));
static int point(const char* name) { return faultline_point ? faultline_point(name) : 0; }
*/
import "C"

import (
	"fmt"
	"os"
	"unsafe"
)

// faultlinePoint returns 0, or the errno of a fail(ERRNO) rule on the point.
func faultlinePoint(name string) int {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return int(C.point(cname))
}

func main() {
	name := "plan.apply"
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	fmt.Printf("faultline_point(%s) = %d\n", name, faultlinePoint(name))
}
