package edge

import (
	"context"
	"net/http"
)

// canFailover reports whether a viewer method may be sent to the secondary origin.
// CloudFront: only GET, HEAD and OPTIONS fail over (spec/cloudfront.md §1.3).
func canFailover(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// fetch sends the request to the behaviour's target. For an origin group the primary is
// tried first on every call (no memory between requests, §1.3); the secondary gets the
// same request when the primary's status is in FailoverCriteria, or when the primary
// could not be reached or timed out, and only for GET, HEAD and OPTIONS. The
// secondary's answer, whatever it is, is the answer.
func (e *Edge) fetch(ctx context.Context, rs *reqState, build func(o *originServer) (*originRequest, error)) (*originResponse, *OriginError) {
	t := rs.b.target
	if rs.target != nil {
		t = rs.target // chosen by a viewer-request function (functionorigin.go)
	}
	members := t.members
	failover := canFailover(rs.r.Method)
	var lastErr *OriginError
	for i, o := range members {
		last := i == len(members)-1 || !failover
		req, err := build(o)
		if err != nil {
			return nil, &OriginError{OriginID: o.id, Kind: failConnect, Err: err}
		}
		resp, oerr := e.do(ctx, o, req)
		rs.originsTried++
		if oerr != nil {
			lastErr = oerr
			if ctx.Err() != nil || last {
				return nil, oerr
			}
			e.log.Debug("origin failover", "group", t.id, "from", o.id, "reason", oerr.Kind.String(), "err", oerr.Err)
			continue
		}
		if !last && t.failover[resp.status] {
			e.log.Debug("origin failover", "group", t.id, "from", o.id, "status", resp.status)
			resp.close()
			continue
		}
		return resp, nil
	}
	return nil, lastErr
}
