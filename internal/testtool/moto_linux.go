package testtool

import "syscall"

// motoProcAttr has the kernel kill moto_server when the test binary dies without running
// TestMain's StopMoto (a panic, a -timeout). Pdeathsig follows the thread that started the
// server; Go keeps its threads unless a goroutine exits while locked to one, which tests
// that start moto do not do.
func motoProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
