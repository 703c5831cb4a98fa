//go:build !linux

package testtool

import "syscall"

// motoProcAttr: outside Linux only TestMain's StopMoto stops moto_server.
func motoProcAttr() *syscall.SysProcAttr { return nil }
