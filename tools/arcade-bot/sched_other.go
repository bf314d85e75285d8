//go:build !linux

package main

import "errors"

var errNotLinux = errors.New("needs Linux")

func allowedCPUs() ([]int, error) { return nil, errNotLinux }
func pinThreads([]int) error      { return errNotLinux }
func setNice(int) error           { return errNotLinux }
func currentNice() (int, error)   { return 0, errNotLinux }
