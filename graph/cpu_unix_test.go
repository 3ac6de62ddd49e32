//go:build unix

package graph_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used, in user and system mode; -1
// when the system will not say.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
