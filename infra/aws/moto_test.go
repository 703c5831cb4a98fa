package awsinfra

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twinedge/twinedge/internal/testtool"
)

// moto is one moto_server shared by the package's tests (it takes seconds to start on a
// busy machine); startMoto resets its state for each test.
var moto struct {
	once sync.Once
	url  string
	cmd  *exec.Cmd
	log  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if moto.cmd != nil {
		moto.cmd.Process.Kill()
		moto.cmd.Wait()
		os.Remove(moto.log)
	}
	os.Exit(code)
}

// startMoto returns the URL of a moto_server with empty state. The SDK's default chain
// picks up the credentials set here (moto accepts any).
func startMoto(t *testing.T) string {
	t.Helper()
	bin := testtool.Require(t, "moto_server")
	moto.once.Do(func() { moto.url, moto.err = launchMoto(bin) })
	if moto.err != nil {
		t.Fatal(moto.err)
	}
	resp, err := http.Post(moto.url+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(moto.log)
			if len(b) > 3000 {
				b = b[len(b)-3000:]
			}
			t.Logf("moto_server log (tail):\n%s", b)
		}
	})
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	return moto.url
}

func launchMoto(bin string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	log, err := os.CreateTemp("", "twinedge-moto-*.log")
	if err != nil {
		return "", err
	}
	moto.log = log.Name()
	py, err := motoPython(bin)
	if err != nil {
		return "", err
	}
	// moto_server is a Python entry point; testdata/moto/server.py runs the same server
	// with a fix for outputs after ExecuteChangeSet (see the file).
	cmd := exec.Command(py, "testdata/moto/server.py", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return "", err
	}
	moto.cmd = cmd
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("moto_server did not start on %s: %v (log %s)", url, err, moto.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// motoPython returns the Python interpreter that runs moto_server: the one named on the
// script's #! line, or python3 behind a pyenv shim.
func motoPython(bin string) (string, error) {
	b, err := os.ReadFile(bin)
	if err == nil && strings.HasPrefix(string(b), "#!") {
		line := strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "#!")
		if f := strings.Fields(line); len(f) == 1 && !strings.HasSuffix(f[0], "/bash") && !strings.HasSuffix(f[0], "/sh") {
			return f[0], nil
		}
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("moto_server found but no python3 to run testdata/moto/server.py: %v", err)
	}
	return py, nil
}
