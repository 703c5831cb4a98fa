package awsinfra

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twinedge/twinedge/internal/testtool"
)

// startMoto runs a moto_server on a free port for the test and returns its URL. The
// SDK's default chain picks up the credentials set here (moto accepts any).
func startMoto(t *testing.T) string {
	t.Helper()
	bin := testtool.Require(t, "moto_server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	log, err := os.Create(filepath.Join(t.TempDir(), "moto.log"))
	if err != nil {
		t.Fatal(err)
	}
	// moto_server is a Python entry point; testdata/moto/server.py runs the same server
	// with a fix for outputs after ExecuteChangeSet (see the file). The interpreter is the
	// one moto_server's script names.
	cmd := exec.Command(motoPython(t, bin), "testdata/moto/server.py", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("moto_server log (tail):\n%s", b)
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("moto_server did not start on %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	return url
}

// motoPython returns the Python interpreter that runs moto_server: the one named on the
// script's #! line, or python3 behind a pyenv shim.
func motoPython(t *testing.T, bin string) string {
	t.Helper()
	b, err := os.ReadFile(bin)
	if err == nil && strings.HasPrefix(string(b), "#!") {
		line := strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "#!")
		if f := strings.Fields(line); len(f) == 1 && !strings.HasSuffix(f[0], "/bash") && !strings.HasSuffix(f[0], "/sh") {
			return f[0]
		}
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("moto_server found but no python3 to run testdata/moto/server.py: %v", err)
	}
	return py
}
