//go:build unix

package awssim

import (
	"syscall"
	"time"
)

// processCPUTime is the CPU time (user + system) the test process has used:
// on a shared machine, CPU per call says more than wall time does.
func processCPUTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
