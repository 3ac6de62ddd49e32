//go:build !unix

package graph_test

import "time"

// processCPU is -1: this system's CPU time per process is not read here.
func processCPU() time.Duration { return -1 }
