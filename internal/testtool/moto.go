package testtool

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// moto is the one moto_server of a test binary. It takes seconds to start on a busy
// machine, so tests share it and Moto resets its state for each of them instead.
var moto struct {
	mu       sync.Mutex
	launcher []string // argv without the address flags, to refuse a second, different launcher
	url      string
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *os.File // the server's stdout and stderr
	err      error    // why the start failed; every later test fails with it too
}

// motoLogTail is how much of the server's log a failed test prints.
const motoLogTail = 3000

// MotoOption changes how Moto starts the server.
type MotoOption func(*motoConfig)

type motoConfig struct {
	script string // a Python script run in place of the moto_server entry point
}

// MotoScript runs the server as `python <script> -H 127.0.0.1 -p <port>` with the Python
// interpreter moto_server itself runs on, instead of the moto_server entry point. It is for a
// launcher that patches a moto bug before starting the same server (infra/aws's
// testdata/moto/server.py). A relative path is taken from the test's working directory,
// the package's directory.
func MotoScript(path string) MotoOption {
	return func(c *motoConfig) { c.script = path }
}

// Moto returns the URL of the test binary's moto_server, started on a free loopback port
// by the first call and waited for, with its state reset (POST /moto-api/reset): each
// test sees an empty moto, as if it had its own server. It also points the AWS SDK's
// default credential chain at the local credentials (AWS_ACCESS_KEY_ID=test and so on,
// with no profile or config files), through t.Setenv: so Moto cannot serve parallel tests,
// whose state one reset would wipe anyway. When the test fails, its part of the server's
// log is printed. Moto fails in CI and skips elsewhere when moto_server is not installed.
//
// Every call of a test binary must pass the same options. The server outlives the test;
// the package's TestMain stops it (on Linux the kernel also kills it should the binary die
// first, in a panic or a -timeout):
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		testtool.StopMoto()
//		os.Exit(code)
//	}
func Moto(t testing.TB, opts ...MotoOption) string {
	t.Helper()
	bin := Require(t, "moto_server")
	var c motoConfig
	for _, o := range opts {
		o(&c)
	}
	launcher, err := c.launcher(bin)
	if err != nil {
		t.Fatal(err)
	}
	url, log, err := startMoto(launcher)
	if err != nil {
		t.Fatal(err)
	}
	var from int64
	if fi, err := log.Stat(); err == nil {
		from = fi.Size()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("moto_server log (tail):\n%s", logTail(log.Name(), from, motoLogTail))
		}
	})
	resp, err := http.Post(url+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto_server: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset moto_server: %s", resp.Status)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	return url
}

// StopMoto kills the test binary's moto_server, if Moto started one, and removes its log.
// Call it from TestMain after m.Run.
func StopMoto() {
	moto.mu.Lock()
	defer moto.mu.Unlock()
	if moto.cmd != nil {
		moto.cmd.Process.Kill()
		<-moto.exited
		moto.cmd = nil
	}
	if moto.log != nil {
		moto.log.Close()
		os.Remove(moto.log.Name())
		moto.log = nil
	}
	moto.url, moto.err = "", fmt.Errorf("moto_server was stopped")
}

// launcher returns the argv that starts the server, without its address flags.
func (c motoConfig) launcher(bin string) ([]string, error) {
	if c.script == "" {
		return []string{bin}, nil
	}
	script, err := filepath.Abs(c.script)
	if err != nil {
		return nil, err
	}
	py, err := motoPython(bin)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", c.script, err)
	}
	return []string{py, script}, nil
}

// motoPython returns the Python interpreter that runs moto_server: the one named on the
// entry point's #! line, or python3 when moto_server is a shell script (a pyenv shim).
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
		return "", fmt.Errorf("moto_server found but no python3 to run it: %w", err)
	}
	return py, nil
}

// startMoto returns the shared server's URL and log, starting it with launcher on first use.
func startMoto(launcher []string) (string, *os.File, error) {
	moto.mu.Lock()
	defer moto.mu.Unlock()
	if moto.launcher != nil && !slices.Equal(moto.launcher, launcher) {
		return "", nil, fmt.Errorf("moto_server already runs as %q; every test of a package must pass Moto the same options", moto.launcher)
	}
	if moto.url != "" || moto.err != nil {
		return moto.url, moto.log, moto.err
	}
	moto.launcher = launcher
	moto.url, moto.err = launchMoto(launcher)
	if moto.err != nil {
		moto.err = fmt.Errorf("start moto_server: %w", moto.err)
	}
	return moto.url, moto.log, moto.err
}

// motoListening is the line the server (werkzeug) logs once it listens.
var motoListening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:[0-9]+)`)

// launchMoto starts the server and waits until it answers. The server binds port 0 and
// the URL is read from its log: a port picked here and passed on could be taken by
// another moto_server (a parallel package's) before this one binds it, and this one's
// readiness poll would then be answered by the other.
func launchMoto(launcher []string) (string, error) {
	log, err := os.CreateTemp("", "twinedge-moto-*.log")
	if err != nil {
		return "", err
	}
	moto.log = log
	argv := append(slices.Clone(launcher), "-H", "127.0.0.1", "-p", "0")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = motoProcAttr()
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	moto.cmd, moto.exited = cmd, exited
	// moto takes a while to import its services: poll until it answers. The bound only
	// turns a hang into a failure, it times nothing.
	const bound = 2 * time.Minute
	for deadline := time.Now().Add(bound); ; time.Sleep(100 * time.Millisecond) {
		select {
		case <-exited:
			moto.cmd = nil
			return "", fmt.Errorf("%q exited before answering; log:\n%s", launcher, logTail(log.Name(), 0, motoLogTail))
		default:
		}
		b, _ := os.ReadFile(log.Name())
		if m := motoListening.FindSubmatch(b); m != nil {
			url := string(m[1])
			if resp, err := http.Get(url + "/moto-api/"); err == nil {
				resp.Body.Close()
				return url, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no answer after %v; log:\n%s", bound, logTail(log.Name(), 0, motoLogTail))
		}
	}
}

// logTail returns the last n bytes the log gained after offset from.
func logTail(name string, from int64, n int) []byte {
	b, err := os.ReadFile(name)
	if err != nil {
		return []byte(err.Error())
	}
	if from < int64(len(b)) {
		b = b[from:]
	} else {
		b = nil
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}
