package build

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"
)

// progress reports files and bytes per bucket for the running phase. On a terminal it
// redraws one line a few times a second; otherwise it prints a plain line when a phase
// starts and when each bucket finishes it, so CI logs stay readable.
type progress struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	phase string
	began time.Time // of the phase, for the rate
	bars  []*bar
	stop  chan struct{}
	done  chan struct{}
}

type bar struct {
	name             string
	files, bytes     atomic.Int64
	totalF, totalB   int64
	finished         atomic.Bool
	reportedFinished bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		p.tty = true
	}
	return p
}

// line prints one plain line (on a terminal, above the bar).
func (p *progress) line(format string, args ...any) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, format+"\n", args...)
	if p.tty && p.bars != nil {
		p.drawLocked()
	}
}

// start begins a phase with one bar per bucket.
func (p *progress) start(phase string, names []string, files []int64, bytes []int64) []*bar {
	bars := make([]*bar, len(names))
	for i := range names {
		bars[i] = &bar{name: names[i], totalF: files[i], totalB: bytes[i]}
	}
	var total int64
	for _, n := range files {
		total += n
	}
	if p == nil || p.w == nil || total == 0 {
		return bars
	}
	p.mu.Lock()
	p.phase, p.bars, p.began = phase, bars, time.Now()
	var parts []string
	for _, b := range bars {
		parts = append(parts, fmt.Sprintf("%s %d files %s", b.name, b.totalF, humanBytes(b.totalB)))
	}
	if !p.tty {
		fmt.Fprintf(p.w, "%s: %s\n", phase, strings.Join(parts, ", "))
	}
	// A terminal's bar is redrawn a few times a second; a log gets a line every few
	// seconds while a phase lasts (a large file takes a while).
	every := 5 * time.Second
	if p.tty {
		every = 150 * time.Millisecond
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	p.mu.Unlock()
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.mu.Lock()
				p.drawLocked()
				if !p.tty {
					fmt.Fprintln(p.w)
				}
				p.mu.Unlock()
			}
		}
	}()
	return bars
}

// add counts finished files and stored bytes.
func (p *progress) add(b *bar, files, bytes int64) {
	b.files.Add(files)
	b.bytes.Add(bytes)
}

// finish marks a bucket done with its phase.
func (p *progress) finish(b *bar) {
	b.finished.Store(true)
	if p == nil || p.w == nil || p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bars == nil {
		return
	}
	fmt.Fprintf(p.w, "%s: %s done, %d files %s%s\n", p.phase, b.name, b.files.Load(), humanBytes(b.bytes.Load()), p.rateLocked(b))
}

// rateLocked is " at <bytes>/s" for b since the phase began, or "".
func (p *progress) rateLocked(b *bar) string {
	secs := time.Since(p.began).Seconds()
	if secs < 0.05 || b.bytes.Load() == 0 {
		return ""
	}
	return " at " + humanBytes(int64(float64(b.bytes.Load())/secs)) + "/s"
}

// end stops the phase's bar.
func (p *progress) end() {
	if p == nil || p.w == nil {
		return
	}
	if p.stop != nil {
		close(p.stop)
		<-p.done
		p.mu.Lock()
		if p.tty {
			p.drawLocked()
			fmt.Fprintln(p.w)
		}
		p.stop = nil
		p.mu.Unlock()
	}
	p.mu.Lock()
	p.bars = nil
	p.mu.Unlock()
}

func (p *progress) drawLocked() {
	var parts []string
	for _, b := range p.bars {
		const width = 20
		frac := 1.0
		if b.totalB > 0 {
			frac = float64(b.bytes.Load()) / float64(b.totalB)
		} else if b.totalF > 0 {
			frac = float64(b.files.Load()) / float64(b.totalF)
		}
		n := int(frac * width)
		parts = append(parts, fmt.Sprintf("%s [%s%s] %d/%d %s/%s%s", b.name,
			strings.Repeat("#", n), strings.Repeat(" ", width-n),
			b.files.Load(), b.totalF, humanBytes(b.bytes.Load()), humanBytes(b.totalB), p.rateLocked(b)))
	}
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "%-7s %s", p.phase, strings.Join(parts, "  "))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fkB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
