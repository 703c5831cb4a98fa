package edge

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
)

// applyOriginChanges makes the origin changes a viewer-request function asked for the
// request's target (DG helper-functions-origin-modification): selectRequestOriginById
// picks an origin of the distribution, createRequestOriginGroup makes a group of two of
// them for this request, updateRequestOrigin changes the settings of the target's origin
// (of a group, the primary only, as the page states). Later calls build on earlier ones.
func (e *Edge) applyOriginChanges(rs *reqState, changes []fnapi.OriginChange) error {
	t := rs.b.target
	for _, ch := range changes {
		var err error
		switch ch.Method {
		case "selectRequestOriginById":
			o, ok := rs.c.origins[ch.ID]
			if !ok {
				return fmt.Errorf("cf.selectRequestOriginById: the distribution has no origin %q", ch.ID)
			}
			t = &target{id: o.id, members: []*originServer{o}}
			if len(ch.Params) > 0 {
				t, err = e.updatedTarget(t, ch.Params)
			}
		case "createRequestOriginGroup":
			t, err = requestGroup(rs.c, ch.Params)
		case "updateRequestOrigin":
			t, err = e.updatedTarget(t, ch.Params)
		default:
			err = fmt.Errorf("unknown origin change %q", ch.Method)
		}
		if err != nil {
			return err
		}
	}
	rs.target = t
	return nil
}

func requestGroup(c *compiled, params json.RawMessage) (*target, error) {
	var p struct {
		OriginIDs        []string `json:"originIds"`
		FailoverCriteria struct {
			StatusCodes []int `json:"statusCodes"`
		} `json:"failoverCriteria"`
	}
	if err := json.Unmarshal(params, &p); err != nil || len(p.OriginIDs) != 2 {
		return nil, fmt.Errorf("cf.createRequestOriginGroup: originIds must list two origin ids")
	}
	t := &target{id: "function-group", failover: map[int]bool{}}
	for _, id := range p.OriginIDs {
		o, ok := c.origins[id]
		if !ok {
			return nil, fmt.Errorf("cf.createRequestOriginGroup: the distribution has no origin %q", id)
		}
		t.members = append(t.members, o)
	}
	for _, code := range p.FailoverCriteria.StatusCodes {
		if !validFailoverCodes[int32(code)] {
			return nil, fmt.Errorf("cf.createRequestOriginGroup: %d is not a failover status code", code)
		}
		t.failover[code] = true
	}
	return t, nil
}

// updatedTarget is t with its first member's settings changed by the parameters of
// updateRequestOrigin; settings not given are inherited, as the page states.
func (e *Edge) updatedTarget(t *target, params json.RawMessage) (*target, error) {
	var p struct {
		DomainName         *string           `json:"domainName"`
		OriginPath         *string           `json:"originPath"`
		CustomHeaders      map[string]string `json:"customHeaders"`
		ConnectionAttempts *int              `json:"connectionAttempts"`
		Timeouts           struct {
			ReadTimeout               *int `json:"readTimeout"`
			ConnectionTimeout         *int `json:"connectionTimeout"`
			ResponseCompletionTimeout *int `json:"responseCompletionTimeout"`
		} `json:"timeouts"`
		OAC *struct {
			Enabled bool `json:"enabled"`
		} `json:"originAccessControlConfig"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, fmt.Errorf("cf.updateRequestOrigin: %v", err)
	}
	o := *t.members[0]
	if p.DomainName != nil {
		host, port, _ := strings.Cut(strings.ToLower(*p.DomainName), ":")
		o.domain = host
		if port != "" {
			o.port = port
		}
	}
	if p.OriginPath != nil {
		path := strings.TrimSuffix(*p.OriginPath, "/")
		if path != "" && !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("cf.updateRequestOrigin: originPath must start with /")
		}
		o.path = path
	}
	if p.CustomHeaders != nil {
		o.headers = nil
		for k, v := range p.CustomHeaders {
			o.headers = append(o.headers, [2]string{k, v})
		}
		slices.SortFunc(o.headers, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	}
	if n := p.ConnectionAttempts; n != nil {
		if *n < 1 || *n > 3 {
			return nil, fmt.Errorf("cf.updateRequestOrigin: connectionAttempts must be 1-3")
		}
		o.attempts = *n
	}
	// Timeouts are in seconds, with the ranges of the origin settings (§1.4).
	for _, tm := range []struct {
		v      *int
		lo, hi int
		dst    *time.Duration
		name   string
	}{
		{p.Timeouts.ReadTimeout, 1, 120, &o.readTO, "readTimeout"},
		{p.Timeouts.ConnectionTimeout, 1, 10, &o.connectTO, "connectionTimeout"},
		{p.Timeouts.ResponseCompletionTimeout, 1, 1 << 20, &o.completeTO, "responseCompletionTimeout"},
	} {
		if tm.v == nil {
			continue
		}
		if *tm.v < tm.lo || *tm.v > tm.hi {
			return nil, fmt.Errorf("cf.updateRequestOrigin: timeouts.%s must be %d-%d", tm.name, tm.lo, tm.hi)
		}
		*tm.dst = time.Duration(*tm.v) * e.unit
	}
	if p.OAC != nil && !p.OAC.Enabled {
		o.oac = nil
	}
	nt := *t
	nt.members = append([]*originServer{&o}, t.members[1:]...)
	return &nt, nil
}
