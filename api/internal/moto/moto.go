// Package moto starts a moto_server for tests: on a free loopback port, waited for, and
// killed when the test ends.
package moto

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/twinedge/twinedge/internal/testtool"
)

// Start runs moto_server for the test and returns its endpoint URL. It fails in CI and skips
// elsewhere when moto_server is not installed.
func Start(t testing.TB) string {
	t.Helper()
	bin := testtool.Require(t, "moto_server")
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		if err := cmd.Start(); err != nil {
			t.Fatalf("start moto_server: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
		})
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		// moto takes a second or two to import; poll its root until it answers. The bound
		// only turns a hang into a failure, it times nothing.
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				deadline = time.Time{} // port taken by someone else: try another
				continue
			default:
			}
			if resp, err := http.Get(url + "/moto-api/"); err == nil {
				resp.Body.Close()
				return url
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Fatal("moto_server did not start")
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
