package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/twinedge/twinedge/infra"
	"github.com/twinedge/twinedge/internal/sigv4"
)

// The admin API lives beside the CloudFront control API under /twinedge/. It is how
// `twinedge fail`, `heal` and `status` act on a running world. Requests are SigV4-signed
// with the world's credentials for service adminService, like every other local API.
const (
	adminService = "twinedge"
	adminRegion  = "us-east-1"
	maxAdminBody = 64 << 10
	probeTimeout = time.Second
)

// adminAuth is what the admin API requires of a signature: service adminService in exactly
// adminRegion, and the body's SHA-256 in a signed x-amz-content-sha256 (signRequest sends it).
// Without the hash, a captured "fail us-east-1" could be replayed with another body within
// the 15 minutes the signing time allows.
var adminAuth = sigv4.Rule{
	Service: adminService,
	Regions: []string{adminRegion},
	Payload: sigv4.SignedPayload,
	MaxBody: maxAdminBody,
}

// ModePartition is the fault mode that cuts replication to and from a region.
const ModePartition = "partition"

// FailRequest is the body of POST /twinedge/fail.
type FailRequest struct {
	Region string `json:"region,omitempty"`
	// Origin names one origin of the distribution by id instead of a region: any origin
	// of a `twinedge edge`, or an origin of the world's distribution (its target follows).
	Origin string `json:"origin,omitempty"`
	Mode   string `json:"mode"`
	// Target is origin, api or all (default all). Ignored for the partition mode.
	Target string `json:"target,omitempty"`
	// Delay applies to the slow mode (default 3s), as a Go duration string.
	Delay string `json:"delay,omitempty"`
}

// HealRequest is the body of POST /twinedge/heal. An empty Region heals every region.
type HealRequest struct {
	Region string `json:"region,omitempty"`
	// Origin heals one origin of a `twinedge edge`; empty heals every one.
	Origin string `json:"origin,omitempty"`
}

// Status is the answer of GET /twinedge/status and the output of `twinedge status --json`.
type Status struct {
	DistributionID string `json:"distributionId"`
	Edge           string `json:"edge"`
	// EdgeTrouble says why the edge cannot accept viewer connections right now (for
	// example out of file descriptors); empty while it can.
	EdgeTrouble string         `json:"edgeTrouble,omitempty"`
	Control     string         `json:"control"`
	Regions     []RegionStatus `json:"regions"`
	// Origins lists the origins of a `twinedge edge` (a world reports Regions instead).
	Origins []OriginStatus `json:"origins,omitempty"`
}

// OriginStatus is one origin of a `twinedge edge`.
type OriginStatus struct {
	ID     string       `json:"id"`
	Target string       `json:"target"`
	Fault  *FaultStatus `json:"fault,omitempty"`
}

// RegionStatus is one region's state.
type RegionStatus struct {
	Name    string `json:"name"`
	Primary bool   `json:"primary"`
	// Faults maps a target (origin, api) to its active fault; empty when healthy.
	Faults map[Target]FaultStatus `json:"faults"`
	// Partitioned is true while replication to and from the region is cut.
	Partitioned bool `json:"partitioned"`
	// Origin is what a signed HEAD of the bucket's index.html answered, e.g. "200" or
	// "connection refused"; empty in the answers to fail and heal, which do not probe.
	Origin string `json:"origin,omitempty"`
}

// FaultStatus describes an active fault.
type FaultStatus struct {
	Mode  string `json:"mode"`
	Delay string `json:"delay,omitempty"`
}

func (w *World) adminHandler() http.Handler {
	return adminMux(w.cfg.Credentials, w.Status, w.Fail, func(req HealRequest) error {
		if req.Origin != "" {
			return fmt.Errorf("heal takes a region in a world (origins heal with their region)")
		}
		return w.Heal(req.Region)
	})
}

// adminMux is the admin API over a world's or an edge's fail, heal and status.
func adminMux(creds aws.Credentials, status func(context.Context) Status, fail func(FailRequest) error, heal func(HealRequest) error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /twinedge/status", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, http.StatusOK, status(r.Context()))
	})
	// No probes in the answers to fail and heal: a blackholed origin would hold the answer
	// for a second, and a drill times its phases from this answer.
	noProbe := func(ctx context.Context) Status { return status(context.WithValue(ctx, noProbeKey{}, true)) }
	mux.HandleFunc("POST /twinedge/fail", func(rw http.ResponseWriter, r *http.Request) {
		var req FailRequest
		if err := decodeStrict(r.Body, &req); err != nil {
			writeJSONError(rw, http.StatusBadRequest, err)
			return
		}
		if err := fail(req); err != nil {
			writeJSONError(rw, http.StatusBadRequest, err)
			return
		}
		writeJSON(rw, http.StatusOK, noProbe(r.Context()))
	})
	mux.HandleFunc("POST /twinedge/heal", func(rw http.ResponseWriter, r *http.Request) {
		var req HealRequest
		if err := decodeStrict(r.Body, &req); err != nil {
			writeJSONError(rw, http.StatusBadRequest, err)
			return
		}
		if err := heal(req); err != nil {
			writeJSONError(rw, http.StatusBadRequest, err)
			return
		}
		writeJSON(rw, http.StatusOK, noProbe(r.Context()))
	})
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(rw, r.Body, maxAdminBody)
		if _, err := sigv4.Verify(r, creds, adminAuth, time.Now()); err != nil {
			writeJSONError(rw, http.StatusForbidden, err)
			return
		}
		mux.ServeHTTP(rw, r)
	})
}

// noProbeKey marks a status asked for without probing the origins.
type noProbeKey struct{}

// fail applies a fault request to a region (Fail also records it).
func (w *World) fail(req FailRequest) error {
	if req.Origin != "" {
		if req.Region != "" {
			return fmt.Errorf("name a region or an origin, not both")
		}
		r, target, err := w.originRegion(req.Origin)
		if err != nil {
			return err
		}
		req.Region, req.Target = r, string(target)
	}
	r := w.Region(req.Region)
	if r == nil {
		return fmt.Errorf("unknown region %q: this world has %s and %s", req.Region, w.regions[0].name, w.regions[1].name)
	}
	if req.Mode == ModePartition {
		// Replication to and from the region stops; each side keeps accepting writes, and
		// the queued changes are delivered on heal (DynamoDB global-table semantics).
		if req.Target != "" && req.Target != string(TargetAll) {
			return fmt.Errorf("--target does not apply to --mode partition, which cuts replication")
		}
		return w.replicator.Partition(r.name)
	}
	target, err := ParseTarget(req.Target)
	if err != nil {
		return err
	}
	f, err := parseFault(req)
	if err != nil {
		return fmt.Errorf("%w (or %s)", err, ModePartition)
	}
	return r.Fail(target, f)
}

// originRegion finds the region and target of an origin of the world's distribution.
func (w *World) originRegion(id string) (string, Target, error) {
	var ids []string
	for _, r := range w.regions {
		site, api := infra.SiteOriginID(r.name), infra.APIOriginID(r.name)
		switch id {
		case site:
			return r.name, TargetOrigin, nil
		case api:
			return r.name, TargetAPI, nil
		}
		ids = append(ids, site, api)
	}
	return "", "", fmt.Errorf("unknown origin %q: this world's origins are %s", id, strings.Join(ids, ", "))
}

// parseFault reads the mode and delay of a fail request.
func parseFault(req FailRequest) (Fault, error) {
	mode, err := ParseMode(req.Mode)
	if err != nil {
		return Fault{}, err
	}
	f := Fault{Mode: mode}
	if req.Delay != "" {
		d, err := time.ParseDuration(req.Delay)
		if err != nil || d < 0 || d > 10*time.Minute {
			return Fault{}, fmt.Errorf("invalid delay %q: use a duration such as 3s (at most 10m)", req.Delay)
		}
		f.Delay = d
	}
	return f, nil
}

// heal clears the faults of the named region, or of every region when name is empty
// (Heal also records it).
func (w *World) heal(name string) error {
	if name == "" {
		for _, r := range w.regions {
			r.Heal()
			w.replicator.Heal(r.name)
		}
		return nil
	}
	r := w.Region(name)
	if r == nil {
		return fmt.Errorf("unknown region %q", name)
	}
	r.Heal()
	w.replicator.Heal(r.name)
	return nil
}

// Status reports each region's faults and probes its origin.
func (w *World) Status(ctx context.Context) Status {
	return w.status(ctx, ctx.Value(noProbeKey{}) == nil)
}

func (w *World) status(ctx context.Context, probe bool) Status {
	s := Status{DistributionID: w.file.DistributionID, Edge: w.file.Edge, Control: w.file.Control, EdgeTrouble: w.edge.ServeTrouble()}
	for _, r := range w.regions {
		rs := RegionStatus{Name: r.name, Primary: r.primary, Faults: map[Target]FaultStatus{}}
		for t, f := range r.Faults() {
			fs := FaultStatus{Mode: string(f.Mode)}
			if f.Delay > 0 {
				fs.Delay = f.Delay.String()
			}
			rs.Faults[t] = fs
		}
		for _, p := range w.replicator.Partitioned() {
			if p == r.name {
				rs.Partitioned = true
			}
		}
		if probe {
			rs.Origin = w.probe(ctx, r)
		}
		s.Regions = append(s.Regions, rs)
	}
	return s
}

// probe sends a signed HEAD for the bucket's index.html, as the edge would.
func (w *World) probe(ctx context.Context, r *Region) string {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, r.OriginURL()+"/"+r.bucket+"/index.html", nil)
	if err != nil {
		return err.Error()
	}
	if err := signRequest(ctx, req, w.cfg.Credentials, nil, "s3", r.name); err != nil {
		return err.Error()
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "timeout"
		}
		return err.Error()
	}
	resp.Body.Close()
	return fmt.Sprint(resp.StatusCode)
}

// signRequest signs req with SigV4 for service and region, hashing body.
func signRequest(ctx context.Context, req *http.Request, creds aws.Credentials, body []byte, service, region string) error {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	return v4.NewSigner().SignHTTP(ctx, creds, req, hash, service, region, time.Now())
}

func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed request: %w", err)
	}
	if dec.More() {
		return errors.New("malformed request: trailing data")
	}
	return nil
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(v)
}

func writeJSONError(rw http.ResponseWriter, status int, err error) {
	writeJSON(rw, status, map[string]string{"error": err.Error()})
}
