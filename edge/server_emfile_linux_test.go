//go:build linux

package edge

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeRealEMFILE runs an edge in a child process whose RLIMIT_NOFILE is just above
// what it uses, fills its descriptor table with connections until Accept fails with EMFILE,
// then frees them: the edge must be accepting again (issue 14 item 2), and ServeTrouble
// must have named the trouble while it lasted.
func TestServeRealEMFILE(t *testing.T) {
	if os.Getenv("EDGE_EMFILE_CHILD") == "1" {
		emfileChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeRealEMFILE$", "-test.v")
	cmd.Env = append(os.Environ(), "EDGE_EMFILE_CHILD=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// However the test ends, the child goes with it: a child left waiting for EMFILE would
	// hold the test binary until its timeout.
	defer func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(prefix string) string {
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("child exited before %q", prefix)
				}
				if v, ok := strings.CutPrefix(l, prefix); ok {
					return v
				}
			case <-time.After(2 * time.Minute): // a loaded machine starts the child slowly
				t.Fatalf("no %q from the child", prefix)
			}
		}
	}
	addr := next("ADDR ")
	// Hold connections until the child runs out of descriptors (its limit leaves a few).
	var held []net.Conn
	for range 64 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	trouble := next("TROUBLE ")
	if !strings.Contains(trouble, "too many open files") {
		t.Errorf("ServeTrouble = %q, want EMFILE named", trouble)
	}
	for _, c := range held {
		c.Close()
	}
	// Every connection the kernel queued is accepted and closed; then a request is served.
	c := &http.Client{Timeout: 30 * time.Second}
	var err error
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		var resp *http.Response
		if resp, err = c.Get("http://" + addr + "/a.txt"); err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("after EMFILE: %d", resp.StatusCode)
			}
			break
		}
	}
	if err != nil {
		t.Fatalf("the edge does not accept after EMFILE: %v", err)
	}
	// The queued connections the child accepts and closes may run it out of descriptors
	// once more; its trouble clears at its next accept that works, so keep connecting.
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
				if resp, err := c.Get("http://" + addr + "/a.txt"); err == nil {
					resp.Body.Close()
				}
			}
		}
	}()
	if v := next("CLEAR "); v != "" {
		t.Errorf("ServeTrouble after recovery = %q", v)
	}
}

func emfileChild(t *testing.T) {
	w := newWorld(t)
	w.get("/a.txt") // the origin connection is open before the limit drops
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go w.e.Serve(l)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	low := rl
	low.Cur = uint64(len(fds) + 8)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ADDR %s\n", l.Addr())
	for !strings.Contains(w.e.ServeTrouble(), "accept") {
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Printf("TROUBLE %s\n", w.e.ServeTrouble())
	for w.e.ServeTrouble() != "" {
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Printf("CLEAR %s\n", w.e.ServeTrouble())
	os.Stdin.Read(make([]byte, 1)) // until the parent is done
}
