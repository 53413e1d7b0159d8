//go:build unix

package asl

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user+system) the process has used, so
// that benchmarks can report a figure that a loaded machine does not
// inflate.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
