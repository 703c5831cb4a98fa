package drill

import (
	"context"

	"github.com/twinedge/twinedge/infra/local"
)

// ForState returns opts aimed at the local world running on stateDir (its world.json):
// the edge, the control API, the regions, and a Switch over the world's admin API, the one
// `twinedge fail` and `twinedge heal` use. Other fields of opts are kept.
func ForState(stateDir string, opts Options) (Options, error) {
	c, err := local.NewClient(stateDir)
	if err != nil {
		return opts, err
	}
	opts = ForWorld(c.World(), opts)
	opts.Switch = LocalSwitch(c)
	return opts, nil
}

// ForWorld fills the target fields of opts (Edge, Control, DistributionID, Regions) from a
// world.json. It leaves Switch alone.
func ForWorld(w *local.WorldFile, opts Options) Options {
	opts.Edge, opts.Control, opts.DistributionID = w.Edge, w.Control, w.DistributionID
	opts.Regions = nil
	for _, r := range w.Regions {
		opts.Regions = append(opts.Regions, Region{Name: r.Name, Bucket: r.Bucket, Origin: r.Origin, API: r.API})
	}
	return opts
}

// localSwitch adapts what both a local.Client (over the admin API) and an in-process local.World
// offer, each with its own signatures.
type localSwitch struct {
	fail func(ctx context.Context, req local.FailRequest) error
	heal func(ctx context.Context, region string) error
}

func (s localSwitch) Fail(ctx context.Context, f Fault) error {
	req := local.FailRequest{Region: f.Region, Mode: f.Mode, Target: f.Target}
	if f.Delay > 0 {
		req.Delay = f.Delay.String()
	}
	return s.fail(ctx, req)
}

func (s localSwitch) Heal(ctx context.Context, region string) error { return s.heal(ctx, region) }

// LocalSwitch returns a Switch over a running world's admin API.
func LocalSwitch(c *local.Client) Switch {
	return localSwitch{
		fail: func(ctx context.Context, req local.FailRequest) error { _, err := c.Fail(ctx, req); return err },
		heal: func(ctx context.Context, region string) error {
			_, err := c.Heal(ctx, local.HealRequest{Region: region})
			return err
		},
	}
}

// WorldSwitch returns a Switch over an in-process world (tests).
func WorldSwitch(w *local.World) Switch {
	return localSwitch{
		fail: func(_ context.Context, req local.FailRequest) error { return w.Fail(req) },
		heal: func(_ context.Context, region string) error { return w.Heal(region) },
	}
}
