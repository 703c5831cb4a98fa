//go:build unix

package build

import (
	"errors"
	"syscall"
)

// processGone reports whether no process has the id pid (signal 0 probes without
// sending; EPERM means it exists under another user).
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
