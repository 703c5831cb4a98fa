package edge

import (
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// PutFunction makes fn available to function associations by its name: what publishing
// a function to the LIVE stage does. When the served configuration associates a function
// of that name, the configuration is compiled again with the new code, which serves the
// next request. Code that does not compile is refused and changes nothing.
func (e *Edge) PutFunction(fn *Function) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	fn = withTwin(fn, e.opts.Twins)
	old := e.functions
	e.functions = maps.Clone(old)
	e.functions[fn.Name] = fn
	if cur := e.cur.Load(); cur != nil && Associates(cur.src, fn.Name) {
		c, err := e.compile(cur.src)
		if err != nil {
			e.functions = old
			return err
		}
		e.swap(c)
	} else if _, err := e.compileJS(fn); fn.Handle == nil && fn.RewriteURI == nil && err != nil {
		e.functions = old
		return err
	}
	return nil
}

// RemoveFunction forgets a function; the control API refuses to delete one that the
// served configuration associates (FunctionInUse), so nothing serving changes.
func (e *Edge) RemoveFunction(name string) {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	m := maps.Clone(e.functions)
	delete(m, name)
	e.functions = m
}

// HasFunction reports whether a function of that name can be associated: a built-in
// one, one given in Options.Functions, or one published with PutFunction. It is the
// lookup a DistributionConfig validator needs for "the function exists and is published".
func (e *Edge) HasFunction(name string) bool {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	_, ok := e.functions[name]
	return ok
}

// Associates reports whether cfg associates the function named name with any behaviour.
func Associates(cfg *types.DistributionConfig, name string) bool {
	if cfg == nil {
		return false
	}
	behaviours := []*types.FunctionAssociations{}
	if cfg.DefaultCacheBehavior != nil {
		behaviours = append(behaviours, cfg.DefaultCacheBehavior.FunctionAssociations)
	}
	if cfg.CacheBehaviors != nil {
		for _, b := range cfg.CacheBehaviors.Items {
			behaviours = append(behaviours, b.FunctionAssociations)
		}
	}
	for _, fa := range behaviours {
		if fa == nil {
			continue
		}
		for _, a := range fa.Items {
			if n, err := functionNameFromARN(aws.ToString(a.FunctionARN)); err == nil && n == name {
				return true
			}
		}
	}
	return false
}
