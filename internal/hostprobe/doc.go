// Package hostprobe measures the host's own limits beside the server: timer
// wake-up lateness of a bare timerfd loop and the hypervisor's CPU steal.
//
// On a virtual machine a thread woken by a timer can run milliseconds late
// and a share of every CPU can be taken by the hypervisor (steal), whatever
// the program does. A Probe runs, in the server's process and during the
// same minutes, the smallest possible timer loop: one locked OS thread that
// waits for an absolute timerfd deadline on a fixed grid and records how
// late it woke. Its lateness is the host's; the server's tick lateness
// beyond it is the server's own. LateAround tells, for a late tick, whether
// the probe was late at the same time, so that tick can be counted as the
// host's. StealSampler reads the steal share from /proc/stat.
//
// What the probe sees: the time from a timerfd deadline to the moment its
// goroutine runs again, which includes the kernel's timer slack and
// scheduling, vCPU preemption by the hypervisor and the Go runtime's return
// from a blocking system call (taking a P back). The server's tick thread
// pays all of these too. The probe cannot see a stall that falls entirely
// between two of its deadlines, hence the default period of 1 ms, well
// below a tick.
//
// To tell the host from the server, the probe should not compete with a busy
// server thread: a probe at normal priority on the same CPU as a SCHED_FIFO
// tick thread is late whenever the tick thread runs. Give it the tick
// thread's priority, or pin it (Config.Pin) away from the tick thread's CPU.
package hostprobe
