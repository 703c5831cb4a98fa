package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Client acts on a running world through its admin API: what `twinedge fail`, `heal` and
// `status` use.
type Client struct {
	world   *WorldFile // nil for a `twinedge edge`
	control string
	creds   aws.Credentials
	http    *http.Client
}

// NewClient reads STATE/world.json and returns a client for that world. Without a world,
// it reads STATE/edge.json, so fail, heal and status act on a running `twinedge edge`.
func NewClient(stateDir string) (*Client, error) {
	c := &Client{creds: Credentials(), http: &http.Client{Timeout: 10 * time.Second}}
	w, err := ReadWorld(stateDir)
	if errors.Is(err, ErrNoWorld) {
		if e, eerr := ReadEdge(stateDir); eerr == nil {
			c.control = e.Control
			return c, nil
		}
	}
	if err != nil {
		return nil, err
	}
	if w.PID == 0 {
		return nil, fmt.Errorf("%w in %s: the last one was stopped; start one with `twinedge up --state %s`", ErrNoWorld, stateDir, stateDir)
	}
	c.world, c.control = w, w.Control
	return c, nil
}

// World returns the world.json the client was made from (nil for a `twinedge edge`).
func (c *Client) World() *WorldFile { return c.world }

// Fail sets a fault.
func (c *Client) Fail(ctx context.Context, req FailRequest) (*Status, error) {
	return c.call(ctx, http.MethodPost, "/twinedge/fail", req)
}

// Heal clears faults in one region (or origin), or all when the request names none.
func (c *Client) Heal(ctx context.Context, req HealRequest) (*Status, error) {
	return c.call(ctx, http.MethodPost, "/twinedge/heal", req)
}

// Status reports the world's state.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	return c.call(ctx, http.MethodGet, "/twinedge/status", nil)
}

func (c *Client) call(ctx context.Context, method, path string, body any) (*Status, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.control+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := signRequest(ctx, req, c.creds, b, adminService, adminRegion); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the world at %s does not answer (is `twinedge up` or `twinedge edge` running?): %w", c.control, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return nil, errors.New(e.Error)
		}
		return nil, fmt.Errorf("admin API answered %s", resp.Status)
	}
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("admin API: %w", err)
	}
	return &s, nil
}
