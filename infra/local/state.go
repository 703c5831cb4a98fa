package local

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/twinedge/twinedge/infra"
)

// WorldFileName is the file under the state directory that describes the running world.
const WorldFileName = "world.json"

// WorldFile is the content of STATE/world.json: the CLI contract in DESIGN.md. Scripts and
// tests read it to find the edge, the control API and each region's endpoints.
type WorldFile struct {
	// Edge is the viewer URL of the local edge.
	Edge string `json:"edge"`
	// Control is the URL of the CloudFront control API (and twinedge's admin API under /twinedge/).
	Control string `json:"control"`
	// DistributionID is the distribution's id, stable for a state directory.
	DistributionID string `json:"distributionId"`
	// DomainName is the distribution's domain name as CloudFront would name it.
	DomainName string `json:"domainName"`
	// Regions lists the regions, primary first.
	Regions []RegionInfo `json:"regions"`
	// RedirectStore is the ARN of the KeyValueStore the release writes the site's
	// redirects to (its cloudfront-keyvaluestore API is on Control).
	RedirectStore string `json:"redirectStore,omitempty"`
	// PID is the process serving the world; 0 after a clean shutdown.
	PID int `json:"pid"`
}

// RegionInfo describes one local region in world.json.
type RegionInfo struct {
	Name    string `json:"name"`
	Primary bool   `json:"primary"`
	// Origin is the URL of the region's S3 API (path style).
	Origin string `json:"origin"`
	// API is the URL of the region's function-URL host; empty when the region runs no API.
	API string `json:"api"`
	// Bucket is the site bucket's name.
	Bucket string `json:"bucket"`
	// BucketDomain and FunctionURLDomain are the names the distribution uses for the origins.
	BucketDomain      string `json:"bucketDomain"`
	FunctionURLDomain string `json:"functionUrlDomain,omitempty"`
}

// ErrNoWorld means the state directory has no world.json: `twinedge up` has not run there.
var ErrNoWorld = errors.New("no running world")

// ReadWorld reads and validates STATE/world.json.
func ReadWorld(stateDir string) (*WorldFile, error) {
	p := filepath.Join(stateDir, WorldFileName)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s: start one with `twinedge up --state %s`", ErrNoWorld, stateDir, stateDir)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	w, err := ParseWorld(b)
	if err != nil {
		return nil, fmt.Errorf("corrupt %s: %w (remove it, or use another --state)", p, err)
	}
	return w, nil
}

// ParseWorld decodes and validates a world.json document.
func ParseWorld(b []byte) (*WorldFile, error) {
	var w WorldFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&w); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	if !infra.ValidDistributionID(w.DistributionID) {
		return nil, fmt.Errorf("invalid distributionId %q", w.DistributionID)
	}
	if len(w.Regions) != 2 {
		return nil, fmt.Errorf("want 2 regions, got %d", len(w.Regions))
	}
	for name, u := range map[string]string{"edge": w.Edge, "control": w.Control} {
		if err := checkLocalURL(u, false); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	primaries := 0
	for _, r := range w.Regions {
		if !infra.ValidRegion(r.Name) || r.Bucket == "" {
			return nil, fmt.Errorf("invalid region entry %q", r.Name)
		}
		if err := checkLocalURL(r.Origin, false); err != nil {
			return nil, fmt.Errorf("region %s origin: %w", r.Name, err)
		}
		if err := checkLocalURL(r.API, true); err != nil {
			return nil, fmt.Errorf("region %s api: %w", r.Name, err)
		}
		if r.Primary {
			primaries++
		}
	}
	if w.Regions[0].Name == w.Regions[1].Name || primaries != 1 || !w.Regions[0].Primary {
		return nil, errors.New("want two different regions, the first of them primary")
	}
	return &w, nil
}

// checkLocalURL accepts the URLs a world writes: http://host:port, nothing after.
func checkLocalURL(s string, optional bool) error {
	if s == "" && optional {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.Host == "" || u.Port() == "" || u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an http://host:port URL", s)
	}
	return nil
}

// writeWorld writes world.json atomically, so a reader never sees half a file.
func writeWorld(stateDir string, w *WorldFile) error {
	b, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(stateDir, WorldFileName), append(b, '\n'))
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// newDistributionID returns an id shaped like CloudFront's: 'E' and 13 upper-case
// letters and digits.
func newDistributionID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 13)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "E" + string(b)
}
