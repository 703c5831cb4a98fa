package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// maxListPages bounds the pages read from one region in one listing.
const maxListPages = 200

// listing is one region's messages of this drill, by id.
type listing struct {
	byID map[string]message
	// dupIDs counts ids that appeared more than once in the listing.
	dupIDs int
}

// list reads every message of this drill from one region, through the edge's pinned path
// /api/r/<region>/messages (no failover there), newest first, page by page until the
// messages are older than the drill.
func (r *run) list(ctx context.Context, region string) (listing, error) {
	l := listing{byID: map[string]message{}}
	cursor := ""
	horizon := r.start.Add(-time.Minute)
	for range maxListPages {
		path := "/api/r/" + region + "/messages?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		res := r.send(ctx, http.MethodGet, path, nil, nil)
		if res.err != nil || res.status != http.StatusOK {
			return l, fmt.Errorf("GET %s: %d %v", path, res.status, res.err)
		}
		var body struct {
			Messages []message `json:"messages"`
			Next     string    `json:"next"`
		}
		if err := json.Unmarshal(res.body, &body); err != nil {
			return l, fmt.Errorf("GET %s: %w", path, err)
		}
		older := false
		for _, m := range body.Messages {
			if m.AcceptedAt.Before(horizon) {
				older = true
			}
			if m.Author != r.author {
				continue
			}
			if _, ok := l.byID[m.ID]; ok {
				l.dupIDs++
			}
			m.ServedBy = ""
			l.byID[m.ID] = m
		}
		if body.Next == "" || older {
			return l, nil
		}
		cursor = body.Next
	}
	return l, fmt.Errorf("more than %d pages of messages in %s", maxListPages, region)
}

// same reports whether two listings hold the same messages, field for field.
func same(a, b listing) bool {
	if len(a.byID) != len(b.byID) {
		return false
	}
	for id, m := range a.byID {
		o, ok := b.byID[id]
		if !ok || o.Author != m.Author || o.Text != m.Text || o.AcceptedIn != m.AcceptedIn || !o.AcceptedAt.Equal(m.AcceptedAt) {
			return false
		}
	}
	return true
}

// converge waits, after the final heal, until both regions list the same messages of this
// drill, then counts the accepted writes that are missing (lost) and the ones stored twice
// (duplicated).
func (r *run) converge(ctx context.Context) {
	c := &r.rep.Convergence
	c.Checked = true
	if ctx.Err() != nil {
		c.Note = "not checked: the drill was stopped by --max-duration before the wait"
		return
	}
	began := time.Now()
	deadline := began.Add(r.opts.ConvergeTimeout)
	var a, b listing
	for {
		var errA, errB error
		a, errA = r.list(ctx, r.primary)
		b, errB = r.list(ctx, r.secondary)
		if errA == nil && errB == nil && same(a, b) {
			c.Converged = true
			c.Ms = time.Since(began).Milliseconds()
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			switch {
			case errA != nil:
				c.Note = errA.Error()
			case errB != nil:
				c.Note = errB.Error()
			default:
				c.Note = fmt.Sprintf("after %s %s holds %d messages of the drill and %s %d, not the same",
					r.opts.ConvergeTimeout, r.primary, len(a.byID), r.secondary, len(b.byID))
			}
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	c.Messages = map[string]int{r.primary: len(a.byID), r.secondary: len(b.byID)}
	if !c.Converged && ctx.Err() != nil {
		// Cut short (--max-duration): what was listed so far says nothing about loss.
		c.Note = fmt.Sprintf("the wait was cut after %d ms, by --max-duration or an interrupt; writes were not counted", time.Since(began).Milliseconds())
		return
	}

	w := &r.rep.Writes
	w.Lost, w.Duplicated, w.StoredAfterRejection = 0, a.dupIDs+b.dupIDs, 0
	for _, rec := range r.writes {
		_, inA := a.byID[rec.ID]
		_, inB := b.byID[rec.ID]
		switch {
		case rec.Accepted && (!inA || !inB):
			w.Lost++
		case !rec.Accepted && (inA || inB):
			w.StoredAfterRejection++
		}
	}
	// The same message under two ids would be a duplicate the ids cannot reveal.
	for _, l := range []listing{a, b} {
		texts := map[string]int{}
		for _, m := range l.byID {
			texts[m.Text]++
		}
		for _, n := range texts {
			w.Duplicated += n - 1
		}
	}
}
