package local

import (
	"os/exec"
	"strings"
)

// goEnv reads one go env variable.
func goEnv(name string) (string, error) {
	out, err := exec.Command("go", "env", name).Output()
	return strings.TrimSpace(string(out)), err
}
