package dashtest

import "syscall"

// childAttr makes a child die with the test process, even when the test
// binary is killed before its cleanups run (go test -timeout, SIGKILL).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
