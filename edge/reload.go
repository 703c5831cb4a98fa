package edge

import "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

// Reload is Apply with a new set of the objects a distribution refers to: opts'
// Functions, CachePolicies, OriginRequestPolicies, ResponseHeadersPolicies and
// OriginAccessControls replace the edge's (the other fields of opts are ignored). It is
// how `twinedge edge --watch` serves a template whose functions or policies changed: on
// CloudFront they are separate resources updated with the distribution. An invalid cfg
// returns a *ConfigError and changes nothing; the cache is kept.
func (e *Edge) Reload(cfg *types.DistributionConfig, opts Options) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	fns := builtinFunctions()
	if err := addFunctions(fns, opts.Functions, e.opts.Twins); err != nil {
		return err
	}
	// Only compile reads these fields, under applyMu; requests read the compiled config.
	// They are set one by one, as requests read other fields of e.opts meanwhile.
	set := func(o *Options, fns map[string]*Function) {
		e.opts.Functions = o.Functions
		e.opts.CachePolicies = o.CachePolicies
		e.opts.OriginRequestPolicies = o.OriginRequestPolicies
		e.opts.ResponseHeadersPolicies = o.ResponseHeadersPolicies
		e.opts.OriginAccessControls = o.OriginAccessControls
		e.functions = fns
	}
	prev, prevFns := e.opts, e.functions
	set(&opts, fns)
	c, err := e.compile(cfg)
	if err != nil {
		set(&prev, prevFns)
		return err
	}
	e.swap(c)
	return nil
}
