package jsfunc

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// cpuClock measures the CPU time of the thread running a function, so that the compute
// budget counts the function's own work and not the time the shared machine spent on
// other threads. The run's goroutine is locked to its thread for the duration.
type cpuClock struct{ id int32 }

func startCPUClock() cpuClock {
	runtime.LockOSThread()
	// The CPU clock of another thread is addressed as the kernel's
	// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) = (^tid << 3) | 6, readable from any
	// thread (the budget's timer reads it from its own).
	return cpuClock{id: int32(^unix.Gettid()<<3 | 6)}
}

func (c cpuClock) now() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(c.id, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func (c cpuClock) stop() { runtime.UnlockOSThread() }
