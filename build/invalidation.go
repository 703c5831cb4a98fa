package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// CloudFront limits (spec/cloudfront.md §4.2) and price (spec/release-tools.md §4).
const (
	maxPathsInProgress     = 3000
	maxWildcardsInProgress = 15
	freePathsPerMonth      = 1000
	pricePerPathUSD        = 0.005
	maxPathLength          = 4000
)

// viewerPaths returns every viewer path under which the edge serves key:
//   - "index.html" is also "/" (DefaultRootObject; a separate cache entry);
//   - "dir/index.html" is also "/dir/" and "/dir" (AWS advises invalidating both forms);
//   - anything else is "/key".
//
// prefix is the part of the key that is not part of the viewer path (an OriginPath).
func viewerPaths(key string) []string {
	p := "/" + key
	if key == "index.html" {
		return []string{"/", p}
	}
	if dir, ok := strings.CutSuffix(key, "/index.html"); ok {
		return []string{"/" + dir, "/" + dir + "/", p}
	}
	return []string{p}
}

// encodePath URL-encodes what CloudFront requires and nothing else: non-ASCII bytes,
// RFC 1738 unsafe characters, and "*" and "?", which would otherwise be read as a
// wildcard or a query string (spec/cloudfront.md §4.1: encoding more breaks the match).
func encodePath(p string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("\"#%<>[\\]^`{|}~*?", c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// invalidationPaths turns changed keys into the sorted, de-duplicated viewer paths to
// invalidate. When the index page changed, the SPA routes served from it are added:
// CloudFront caches a rewritten request under the viewer URI too (§4.1).
func invalidationPaths(keys []string, routes []string) []string {
	set := map[string]bool{}
	for _, k := range keys {
		for _, p := range viewerPaths(k) {
			set[encodePath(p)] = true
		}
		if k == "index.html" {
			for _, r := range routes {
				if r = strings.TrimSpace(r); r != "" {
					if !strings.HasPrefix(r, "/") {
						r = "/" + r
					}
					set[encodePath(r)] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		if len(p) <= maxPathLength {
			out = append(out, p)
		} else {
			out = append(out, "/*") // a path CloudFront cannot take: invalidate everything
		}
	}
	sort.Strings(out)
	return dedupe(out)
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// collapse keeps the explicit paths when there are at most budget of them, and
// otherwise replaces groups of paths by directory wildcards until they fit:
//   - a wildcard is billed as one path ($0.005 past the 1,000 free each month), so
//     replacing k ≥ 2 paths by one saves k-1 paths of cost; the cost of a wildcard is
//     the cache misses on unchanged files it also evicts, which is why explicit paths
//     win while they fit the budget;
//   - the directory saving the most paths goes first, the deepest on a tie (it evicts
//     the least);
//   - "/dir*" is used, not "/dir/*": it also covers "/dir" itself and subdirectories
//     under either reading of CloudFront's rules (§4.1);
//   - at most wildcards wildcard paths are used (CloudFront allows 15 in progress per
//     distribution); if the paths still do not fit, the answer is "/*".
//
// pathLimit is the most paths the request may hold (3,000 minus what is in flight).
func collapse(paths []string, budget, wildcards, pathLimit int) []string {
	budget = min(budget, pathLimit)
	if len(paths) <= budget {
		return paths
	}
	cur := append([]string(nil), paths...)
	for used := 0; len(cur) > budget && used < wildcards; used++ {
		best, bestN := "", 1
		count := map[string]int{}
		for _, p := range cur {
			for _, d := range ancestors(p) {
				count[d]++
			}
		}
		for d, n := range count {
			if n > bestN || n == bestN && n > 1 && (strings.Count(d, "/") > strings.Count(best, "/") || strings.Count(d, "/") == strings.Count(best, "/") && d < best) {
				best, bestN = d, n
			}
		}
		if best == "" {
			break
		}
		w := best + "*"
		next := []string{w}
		for _, p := range cur {
			if !strings.HasPrefix(p, best) {
				next = append(next, p)
			}
		}
		sort.Strings(next)
		cur = next
	}
	if len(cur) > budget {
		if wildcards < 1 {
			return cur // nothing better is allowed; the caller waits for slots
		}
		return []string{"/*"}
	}
	return cur
}

// ancestors returns the directories "/a" and "/a/b" of a path "/a/b/c", excluding the
// root (its wildcard is "/*", the last resort) and wildcard paths.
func ancestors(p string) []string {
	if strings.HasSuffix(p, "*") {
		return nil
	}
	var out []string
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i])
		}
	}
	return out
}

func isWildcard(p string) bool { return strings.HasSuffix(p, "*") }

// pathsCostUSD is the price of paths once the month's free paths are used up.
func pathsCostUSD(paths []string) float64 { return float64(len(paths)) * pricePerPathUSD }

// callerReference is deterministic: the same release retried with the same paths gets
// the existing invalidation back instead of a second, billed one (§4.3); other paths
// get another reference, never InvalidationBatchAlreadyExists.
func callerReference(releaseID string, paths []string) string {
	sum := sha256.Sum256([]byte(strings.Join(paths, "\n")))
	return "twinedge-" + releaseID + "-" + hex.EncodeToString(sum[:6])
}

// inFlight counts the paths and wildcards of the distribution's InProgress
// invalidations, to keep a new request within CloudFront's limits.
func inFlight(ctx context.Context, cf CloudFrontAPI, dist string) (paths, wildcards int, err error) {
	out, err := cf.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(dist), MaxItems: aws.Int32(100)})
	if err != nil {
		return 0, 0, fmt.Errorf("list invalidations of %s: %w", dist, err)
	}
	if out.InvalidationList == nil {
		return 0, 0, nil
	}
	for _, s := range out.InvalidationList.Items {
		if isCompleted(aws.ToString(s.Status)) {
			continue
		}
		inv, err := cf.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(dist), Id: s.Id})
		if err != nil {
			return 0, 0, fmt.Errorf("get invalidation %s: %w", aws.ToString(s.Id), err)
		}
		if inv.Invalidation == nil || inv.Invalidation.InvalidationBatch == nil || inv.Invalidation.InvalidationBatch.Paths == nil {
			continue
		}
		for _, p := range inv.Invalidation.InvalidationBatch.Paths.Items {
			if isWildcard(p) {
				wildcards++
			} else {
				paths++
			}
		}
	}
	return paths, wildcards, nil
}

// isCompleted reports whether an invalidation status is final. AWS says "Completed";
// moto_server says "COMPLETED" (spec/moto-quirks.md), hence the case-insensitive test.
func isCompleted(status string) bool { return strings.EqualFold(status, "Completed") }

// createInvalidation sends the paths, backing off while CloudFront answers
// TooManyInvalidationsInProgress, until deadline.
func createInvalidation(ctx context.Context, cf CloudFrontAPI, dist, ref string, paths []string, deadline time.Time, tick func(string)) (string, error) {
	delay := 2 * time.Second
	for {
		out, err := cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
			DistributionId: aws.String(dist),
			InvalidationBatch: &types.InvalidationBatch{
				CallerReference: aws.String(ref),
				Paths:           &types.Paths{Quantity: aws.Int32(int32(len(paths))), Items: paths},
			},
		})
		if err == nil {
			if out.Invalidation == nil {
				return "", errors.New("create invalidation: empty answer")
			}
			return aws.ToString(out.Invalidation.Id), nil
		}
		if apiErrorCode(err) != "TooManyInvalidationsInProgress" {
			return "", fmt.Errorf("create invalidation on %s: %w", dist, err)
		}
		if time.Now().Add(delay).After(deadline) {
			return "", fmt.Errorf("create invalidation on %s: still TooManyInvalidationsInProgress after backing off: %w", dist, err)
		}
		tick(fmt.Sprintf("too many invalidations in progress; retrying in %s", delay))
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 60*time.Second)
	}
}

// errWaitTimeout says the invalidation did not complete in time; it is a warning.
var errWaitTimeout = errors.New("invalidation not completed before the wait timeout")

// waitInvalidation polls until the invalidation completes. The SDK's waiter polls every
// 20 s and compares with "Completed" only; the local edge completes in about two
// seconds, so this polls from 500 ms, backing off to 10 s.
func waitInvalidation(ctx context.Context, cf CloudFrontAPI, dist, id string, timeout time.Duration, tick func(string)) error {
	start := time.Now()
	delay := 500 * time.Millisecond
	for {
		out, err := cf.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(dist), Id: aws.String(id)})
		if err != nil {
			return fmt.Errorf("get invalidation %s: %w", id, err)
		}
		status := ""
		if out.Invalidation != nil {
			status = aws.ToString(out.Invalidation.Status)
		}
		if isCompleted(status) {
			return nil
		}
		elapsed := time.Since(start)
		tick(fmt.Sprintf("invalidation %s %s (%s)", id, status, elapsed.Round(time.Second)))
		if elapsed+delay > timeout {
			return errWaitTimeout
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*3/2, 10*time.Second)
	}
}

// checkDistribution compares the targets with the distribution's origins. A record
// bucket that is an origin would make release records and rollback copies public: that
// stops the release. A site bucket that is no origin, or whose OriginPath is not its
// Prefix, would make the invalidation paths miss: that is a warning.
func checkDistribution(ctx context.Context, cf CloudFrontAPI, dist string, targets []Target) (warnings []string, err error) {
	out, err := cf.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(dist)})
	if err != nil {
		return []string{fmt.Sprintf("could not read distribution %s to check its origins: %v", dist, err)}, nil
	}
	if out.DistributionConfig == nil || out.DistributionConfig.Origins == nil {
		return nil, nil
	}
	origins := out.DistributionConfig.Origins.Items
	for _, t := range targets {
		found := false
		for _, o := range origins {
			domain := aws.ToString(o.DomainName)
			if strings.HasPrefix(domain, t.RecordBucket+".") {
				return nil, fmt.Errorf("record bucket %s is origin %s of distribution %s: release records would be public; use a bucket no origin points at",
					t.RecordBucket, aws.ToString(o.Id), dist)
			}
			if !strings.HasPrefix(domain, t.Bucket+".s3") {
				continue
			}
			found = true
			if want := strings.TrimSuffix("/"+t.Prefix, "/"); aws.ToString(o.OriginPath) != want && !(want == "" && aws.ToString(o.OriginPath) == "/") {
				warnings = append(warnings, fmt.Sprintf("origin %s serves %s from OriginPath %q, but the release writes under %q: invalidation paths may miss",
					aws.ToString(o.Id), t.Bucket, aws.ToString(o.OriginPath), t.Prefix))
			}
		}
		if !found {
			warnings = append(warnings, fmt.Sprintf("bucket %s is no origin of distribution %s", t.Bucket, dist))
		}
	}
	return warnings, nil
}
