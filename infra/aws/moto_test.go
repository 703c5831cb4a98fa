package awsinfra

import (
	"os"
	"testing"

	"github.com/twinedge/twinedge/internal/testtool"
)

// patchedMoto runs the package's moto_server through testdata/moto/server.py, which
// fixes moto 5.2.1's outputs after ExecuteChangeSet (see the file), so that Deploy can be
// tested through change sets as it runs on AWS.
var patchedMoto = testtool.MotoScript("testdata/moto/server.py")

func TestMain(m *testing.M) {
	code := m.Run()
	testtool.StopMoto()
	os.Exit(code)
}
