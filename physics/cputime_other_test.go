//go:build !linux

package physics

import "time"

// threadCPU is not read here.
func threadCPU() (time.Duration, bool) { return 0, false }
