package edge

import (
	"io"
	"sync"
)

type accessLog struct {
	mu sync.Mutex
	w  io.Writer
}

func newAccessLog(w io.Writer) *accessLog { return &accessLog{w: w} }

func (l *accessLog) record(e *Edge, rs *reqState) {}
