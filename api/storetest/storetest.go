// Package storetest is the contract every api.Store must keep: idempotent conditional puts,
// newest-first pages that join up, and a working Ping. Each implementation's tests call Run.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twinedge/twinedge/api"
)

// Run checks the Store contract on stores made by newStore, which must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) api.Store) {
	ctx := context.Background()
	base := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	msg := func(i int, text string) api.Message {
		return api.Message{ID: fmt.Sprintf("0190a6b2-7c1e-7d3a-9f00-%012d", i), Author: "ann", Text: text,
			AcceptedIn: "us-east-1", AcceptedAt: base.Add(time.Duration(i) * time.Second)}
	}

	t.Run("put is idempotent by id", func(t *testing.T) {
		s := newStore(t)
		m := msg(1, "hello")
		got, out, err := s.Put(ctx, m)
		if err != nil || out != api.Created {
			t.Fatalf("first put: %v %v", out, err)
		}
		if d := cmp.Diff(m, got); d != "" {
			t.Errorf("created (-want +got)\n%s", d)
		}
		retry := m
		retry.AcceptedAt = m.AcceptedAt.Add(time.Minute) // a retry is accepted later
		retry.AcceptedIn = "eu-west-2"
		got, out, err = s.Put(ctx, retry)
		if err != nil || out != api.Existing {
			t.Fatalf("retry: %v %v", out, err)
		}
		if d := cmp.Diff(m, got); d != "" {
			t.Errorf("retry must return the stored message (-want +got)\n%s", d)
		}
		other := m
		other.Text = "something else"
		got, out, err = s.Put(ctx, other)
		if err != nil || out != api.Conflict {
			t.Fatalf("conflict: %v %v", out, err)
		}
		if d := cmp.Diff(m, got); d != "" {
			t.Errorf("conflict must return the stored message (-want +got)\n%s", d)
		}
		list, next, err := s.List(ctx, 10, "")
		if err != nil || next != "" {
			t.Fatalf("list: %v next=%q", err, next)
		}
		if d := cmp.Diff([]api.Message{m}, list); d != "" {
			t.Errorf("stored (-want +got)\n%s", d)
		}
	})

	t.Run("pages newest first", func(t *testing.T) {
		s := newStore(t)
		var want []api.Message
		// Written out of time order: the listing must follow acceptedAt, not arrival.
		for _, i := range []int{3, 0, 6, 1, 4, 2, 5} {
			if _, out, err := s.Put(ctx, msg(i, fmt.Sprint("m", i))); err != nil || out != api.Created {
				t.Fatalf("put %d: %v %v", i, out, err)
			}
		}
		for i := 6; i >= 0; i-- {
			want = append(want, msg(i, fmt.Sprint("m", i)))
		}
		for _, size := range []int{1, 3, 7, 10} {
			var got []api.Message
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatalf("limit %d: pages do not end", size)
				}
				page, next, err := s.List(ctx, size, cursor)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > size {
					t.Fatalf("limit %d: page of %d", size, len(page))
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				cursor = next
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("limit %d (-want +got)\n%s", size, d)
			}
		}
		if _, _, err := s.List(ctx, 5, "not-a-cursor"); !errors.Is(err, api.ErrBadCursor) {
			t.Errorf("bad cursor: %v", err)
		}
	})

	t.Run("empty and ping", func(t *testing.T) {
		s := newStore(t)
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		list, next, err := s.List(ctx, 5, "")
		if err != nil || len(list) != 0 || next != "" {
			t.Errorf("empty list: %v %v %q", list, err, next)
		}
	})
}
