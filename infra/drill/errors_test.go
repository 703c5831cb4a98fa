package drill

import (
	"io"
	"syscall"
)

var (
	ioUnexpectedEOF = io.ErrUnexpectedEOF
	errRefused      = syscall.ECONNREFUSED
	errReset        = syscall.ECONNRESET
)
