//go:build !unix

package build

// processGone cannot tell here, so a lock waits for its expiry (or --break-lock).
func processGone(int) bool { return false }

func bootID() string { return "" }

func processStarted(int) (uint64, bool) { return 0, false }
