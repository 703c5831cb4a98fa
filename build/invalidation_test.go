package build

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func TestInvalidationPaths(t *testing.T) {
	routes := []string{"/status", "about"}
	tests := []struct {
		name string
		keys []string
		want []string
	}{
		{"root index with SPA routes", []string{"index.html"}, []string{"/", "/about", "/index.html", "/status"}},
		{"directory index under every name", []string{"docs/index.html"}, []string{"/docs", "/docs/", "/docs/index.html"}},
		{"plain file", []string{"robots.txt"}, []string{"/robots.txt"}},
		{"encoded", []string{"a b/ü*?.txt"}, []string{"/a%20b/%C3%BC%2A%3F.txt"}},
		{"safe characters stay", []string{"a-b_c.d/(x)+y,z;=@:!$&'.txt"}, []string{"/a-b_c.d/(x)+y,z;=@:!$&'.txt"}},
		{"none", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, invalidationPaths(tt.keys, routes)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestCollapse(t *testing.T) {
	many := func(dir string, n int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, fmt.Sprintf("%s/p%02d.html", dir, i))
		}
		return out
	}
	tests := []struct {
		name                 string
		paths                []string
		budget, wild, limitP int
		want                 []string
	}{
		{"fits the budget", []string{"/", "/a", "/b"}, 3, 15, 3000, []string{"/", "/a", "/b"}},
		{"one directory", append(many("/docs", 10), "/"), 5, 15, 3000, []string{"/", "/docs*"}},
		{"deepest on a tie, most savings first", append(many("/d/x", 4), many("/d/y", 3)...), 3, 15, 3000, []string{"/d*"}},
		{"two directories", append(many("/a", 5), append(many("/b", 5), "/c")...), 4, 15, 3000, []string{"/a*", "/b*", "/c"}},
		{"no wildcard slot left", many("/a", 5), 2, 0, 3000, many("/a", 5)},
		{"everything", []string{"/a", "/b", "/c", "/d"}, 2, 15, 3000, []string{"/*"}},
		{"in-flight path limit", many("/a", 5), 30, 15, 3, []string{"/a*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collapse(tt.paths, tt.budget, tt.wild, tt.limitP)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			// Whatever collapse returns covers every input path.
			for _, p := range tt.paths {
				if !covered(got, p) {
					t.Errorf("%s is not covered by %v", p, got)
				}
			}
		})
	}
}

func covered(paths []string, p string) bool {
	for _, q := range paths {
		if q == p || strings.HasSuffix(q, "*") && strings.HasPrefix(p, strings.TrimSuffix(q, "*")) {
			return true
		}
	}
	return false
}

func FuzzCollapse(f *testing.F) {
	f.Add("/a/b\n/a/c\n/d", 1, 1)
	f.Add("/x/y/z\n/x/y/w\n/x/q\n/", 2, 15)
	f.Fuzz(func(t *testing.T, list string, budget, wild int) {
		if budget < 1 || budget > 50 || wild < 0 || wild > 15 {
			return
		}
		paths := dedupe(strings.Split(list, "\n"))
		got := collapse(paths, budget, wild, 3000)
		w := 0
		for _, p := range got {
			if isWildcard(p) {
				w++
			}
		}
		if w > max(wild, 1) {
			t.Fatalf("%d wildcards with %d allowed: %v", w, wild, got)
		}
		if wild >= 1 && len(got) > budget {
			t.Fatalf("%d paths over budget %d: %v", len(got), budget, got)
		}
		for _, p := range paths {
			if p != "" && p[0] == '/' && !covered(got, p) {
				t.Fatalf("%q not covered by %v", p, got)
			}
		}
	})
}

func TestCallerReferenceDeterministic(t *testing.T) {
	a := callerReference("0123456789ab", []string{"/", "/index.html"})
	if a != callerReference("0123456789ab", []string{"/", "/index.html"}) {
		t.Error("same release and paths gave two references")
	}
	if a == callerReference("0123456789ab", []string{"/"}) || a == callerReference("ba9876543210", []string{"/", "/index.html"}) {
		t.Error("other paths or release gave the same reference")
	}
}

// fakeCloudFront answers TooManyInvalidationsInProgress a few times, then reports an
// invalidation that completes on the second poll.
type fakeCloudFront struct {
	CloudFrontAPI
	busy, creates, polls atomic.Int32
}

func (f *fakeCloudFront) CreateInvalidation(_ context.Context, in *cloudfront.CreateInvalidationInput, _ ...func(*cloudfront.Options)) (*cloudfront.CreateInvalidationOutput, error) {
	f.creates.Add(1)
	if f.busy.Add(-1) >= 0 {
		return nil, &smithy.GenericAPIError{Code: "TooManyInvalidationsInProgress", Message: "busy"}
	}
	return &cloudfront.CreateInvalidationOutput{Invalidation: &types.Invalidation{Id: aws.String("I1"), Status: aws.String("InProgress")}}, nil
}

func (f *fakeCloudFront) GetInvalidation(context.Context, *cloudfront.GetInvalidationInput, ...func(*cloudfront.Options)) (*cloudfront.GetInvalidationOutput, error) {
	status := "InProgress"
	if f.polls.Add(1) >= 2 {
		status = "Completed"
	}
	return &cloudfront.GetInvalidationOutput{Invalidation: &types.Invalidation{Id: aws.String("I1"), Status: aws.String(status)}}, nil
}

func TestInvalidationBackoffAndWait(t *testing.T) {
	if testing.Short() {
		t.Skip("backs off for real (2 s)")
	}
	ctx := context.Background()
	cf := &fakeCloudFront{}
	cf.busy.Store(1)
	var ticks []string
	id, err := createInvalidation(ctx, cf, "D", "ref", []string{"/"}, time.Now().Add(time.Minute), func(s string) { ticks = append(ticks, s) })
	if err != nil || id != "I1" || cf.creates.Load() != 2 {
		t.Fatalf("create: id %q err %v after %d calls", id, err, cf.creates.Load())
	}
	if len(ticks) != 1 || !strings.Contains(ticks[0], "too many") {
		t.Errorf("backoff progress = %q", ticks)
	}
	if err := waitInvalidation(ctx, cf, "D", id, time.Minute, func(s string) { ticks = append(ticks, s) }); err != nil {
		t.Fatal(err)
	}
	if len(ticks) < 2 {
		t.Errorf("no visible wait progress: %q", ticks)
	}
	// A deadline that cannot fit a backoff fails with the cause.
	cf.busy.Store(5)
	_, err = createInvalidation(ctx, cf, "D", "ref", []string{"/"}, time.Now(), func(string) {})
	var ae *smithy.GenericAPIError
	if !errors.As(err, &ae) {
		t.Errorf("err = %v, want the TooManyInvalidationsInProgress error wrapped", err)
	}
}

func TestIsCompleted(t *testing.T) {
	for s, want := range map[string]bool{"Completed": true, "COMPLETED": true, "InProgress": false, "": false} {
		if isCompleted(s) != want {
			t.Errorf("isCompleted(%q) = %v", s, !want)
		}
	}
}
