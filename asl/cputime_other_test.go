//go:build !unix

package asl

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
