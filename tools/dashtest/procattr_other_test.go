//go:build !linux

package dashtest

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
