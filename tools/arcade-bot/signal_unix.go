//go:build !windows

package main

import (
	"os"
	"syscall"
)

// intervalSignal asks for an interval report (--interval-reports).
var intervalSignal os.Signal = syscall.SIGUSR1
