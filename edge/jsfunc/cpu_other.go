//go:build !linux

package jsfunc

import "time"

// cpuClock falls back to wall time where the thread's CPU clock is not at hand.
type cpuClock struct{ start time.Time }

func startCPUClock() cpuClock         { return cpuClock{start: time.Now()} }
func (c cpuClock) now() time.Duration { return time.Since(c.start) }
func (c cpuClock) stop()              {}
