package edge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// stateVersion is the format version of ControlOptions.StateFile.
const stateVersion = 1

// controlState is what ControlOptions.StateFile holds: the invalidation history and the
// config's version, so a restarted world keeps both.
type controlState struct {
	Version        int       `json:"version"`
	DistributionID string    `json:"distributionId"`
	ETag           string    `json:"etag"`
	LastModified   time.Time `json:"lastModified"`
	// ConfigSHA256 is the hash of the config the ETag names. After a restart the ETag is kept
	// only if the edge serves the same config again; otherwise the config has changed and
	// gets a new ETag, as CloudFront would give it.
	ConfigSHA256  string          `json:"configSha256"`
	Invalidations []*invalidation `json:"invalidations"`
}

// OpenControl is NewControl that reports a StateFile it cannot use. Without StateFile it is
// NewControl. A missing file starts an empty history; an unreadable or corrupt one is an
// error and is left as it is.
func OpenControl(d distribution, opts ControlOptions) (*Control, error) {
	c := newControl(d, opts)
	if err := c.loadState(); err != nil {
		return nil, err
	}
	if err := c.loadKVS(); err != nil {
		return nil, err
	}
	if err := c.loadFunctions(); err != nil {
		return nil, err
	}
	return c, nil
}

// loadState reads StateFile into c. On error c keeps an empty state and persistence is
// switched off, so the file that could not be read is never overwritten.
func (c *Control) loadState() error {
	if c.opts.StateFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.opts.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	fail := func(err error) error {
		c.persistOff = true
		return fmt.Errorf("control state %s: %w (fix or remove the file to start with an empty invalidation history)", c.opts.StateFile, err)
	}
	if err != nil {
		return fail(err)
	}
	var s controlState
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return fail(fmt.Errorf("corrupt: %w", err))
	}
	if err := s.check(c.opts.DistributionID); err != nil {
		return fail(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if sum, err := configSHA256(c.d); err == nil && sum == s.ConfigSHA256 {
		c.etag, c.lastModified = s.ETag, s.LastModified
	}
	c.invalidations.mu.Lock()
	c.invalidations.items = s.Invalidations
	c.invalidations.mu.Unlock()
	return nil
}

// check validates a decoded state file.
func (s *controlState) check(distID string) error {
	if s.Version != stateVersion {
		return fmt.Errorf("version %d, want %d", s.Version, stateVersion)
	}
	if s.DistributionID != distID {
		return fmt.Errorf("it is for distribution %q, not %q", s.DistributionID, distID)
	}
	if s.ETag == "" || s.LastModified.IsZero() {
		return errors.New("corrupt: no etag or lastModified")
	}
	seen := map[string]bool{}
	for i, inv := range s.Invalidations {
		if inv == nil || inv.ID == "" || inv.CallerReference == "" || len(inv.Paths) == 0 || inv.CreateTime.IsZero() {
			return fmt.Errorf("corrupt: invalidation %d is incomplete", i)
		}
		if seen[inv.ID] {
			return fmt.Errorf("corrupt: invalidation %s appears twice", inv.ID)
		}
		seen[inv.ID] = true
	}
	return nil
}

// configSHA256 hashes the XML of the distribution's current config.
func configSHA256(d distribution) (string, error) {
	b, err := marshalCloudFrontXML("DistributionConfig", d.Config())
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// saveState writes the control state to StateFile, when set: to a temporary file in the same
// directory, synced, then renamed over the old one, so a crash leaves the old or the new
// state and never half of one.
func (c *Control) saveState() error {
	if c.opts.StateFile == "" {
		return nil
	}
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	if c.persistOff {
		return nil
	}
	s := controlState{Version: stateVersion, DistributionID: c.opts.DistributionID}
	c.mu.Lock()
	s.ETag, s.LastModified = c.etag, c.lastModified
	c.mu.Unlock()
	sum, err := configSHA256(c.d)
	if err != nil {
		return err
	}
	s.ConfigSHA256 = sum
	c.invalidations.mu.Lock()
	for _, inv := range c.invalidations.items {
		cp := inv.clone()
		s.Invalidations = append(s.Invalidations, &cp)
	}
	c.invalidations.mu.Unlock()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(c.opts.StateFile, append(b, '\n'))
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return nil
}
