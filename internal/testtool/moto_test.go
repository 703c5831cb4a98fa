package testtool

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopMoto()
	os.Exit(code)
}

// listBuckets returns moto's ListBuckets answer (moto does not check signatures).
func listBuckets(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMotoSharedAndReset: the second call gets the same server, emptied.
func TestMotoSharedAndReset(t *testing.T) {
	url := Moto(t)
	req, _ := http.NewRequest(http.MethodPut, url+"/twinedge-reset-check", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create bucket: %s", resp.Status)
	}
	if got := listBuckets(t, url); !strings.Contains(got, "twinedge-reset-check") {
		t.Fatalf("bucket not listed after create: %s", got)
	}
	if again := Moto(t); again != url {
		t.Fatalf("second call started another server: %s, first %s", again, url)
	}
	if got := listBuckets(t, url); strings.Contains(got, "twinedge-reset-check") {
		t.Errorf("bucket survived the reset: %s", got)
	}
	if got := os.Getenv("AWS_ACCESS_KEY_ID"); got != "test" {
		t.Errorf("AWS_ACCESS_KEY_ID = %q, want test", got)
	}
}

func TestMotoRefusesAnotherLauncher(t *testing.T) {
	Require(t, "moto_server")
	Moto(t)
	if _, _, err := startMoto([]string{"/bin/false"}); err == nil {
		t.Error("a second launcher was accepted")
	}
}

func TestLogTail(t *testing.T) {
	name := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(name, []byte("old\nline one\nline two\nline three\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from int64
		n    int
		want string
	}{
		{0, 100, "old\nline one\nline two\nline three\n"},
		{4, 100, "line one\nline two\nline three\n"},
		{4, 15, "line three\n"}, // cut to whole lines
		{100, 100, ""},
	}
	for _, tt := range tests {
		if got := string(logTail(name, tt.from, tt.n)); got != tt.want {
			t.Errorf("logTail(from %d, n %d) = %q, want %q", tt.from, tt.n, got, tt.want)
		}
	}
}
