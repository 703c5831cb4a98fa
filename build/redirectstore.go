package build

// How a release changes the redirect store (see redirects.go for the file):
//
//   - plan: the store's keys are listed (ListKeys, paged) while the buckets are; the
//     plan is the difference between them and the site's rules: puts of new and
//     changed entries, deletes of entries no rule has. A set of rules that does not fit
//     the store is refused here, before anything changes;
//   - order: the store is written after the pages of every region, so no redirect
//     points at a page that is not there yet, and before the deletes, so a page that a
//     new rule replaces is redirected before it disappears; a rule that is removed is
//     removed after the page it shadowed has been uploaded. Puts go first, then deletes,
//     each UpdateKeys (all or nothing, API_kvs_UpdateKeys) at most 50 keys or 3 MB,
//     each under the ETag of the one before, starting from the ETag read at plan time:
//     a store someone changed meanwhile stops the release with ConflictException;
//   - invalidation: only the paths of removed rules. A redirect is answered by the
//     viewer-request function before the cache is looked up and is not cached (DG
//     function-code-choose-purpose), so a new or changed rule needs no invalidation;
//     a removed rule uncovers whatever the cache held for its path from before;
//   - record and rollback: the rules are part of the release record, so a rollback
//     plans the store back to the rules of the release it restores.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"
	kvstypes "github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore/types"
)

// KeyValueStoreAPI is the part of the cloudfront-keyvaluestore API a release uses;
// *cloudfrontkeyvaluestore.Client implements it (NewKeyValueStoreClient).
type KeyValueStoreAPI interface {
	DescribeKeyValueStore(context.Context, *cloudfrontkeyvaluestore.DescribeKeyValueStoreInput, ...func(*cloudfrontkeyvaluestore.Options)) (*cloudfrontkeyvaluestore.DescribeKeyValueStoreOutput, error)
	ListKeys(context.Context, *cloudfrontkeyvaluestore.ListKeysInput, ...func(*cloudfrontkeyvaluestore.Options)) (*cloudfrontkeyvaluestore.ListKeysOutput, error)
	UpdateKeys(context.Context, *cloudfrontkeyvaluestore.UpdateKeysInput, ...func(*cloudfrontkeyvaluestore.Options)) (*cloudfrontkeyvaluestore.UpdateKeysOutput, error)
}

var _ KeyValueStoreAPI = (*cloudfrontkeyvaluestore.Client)(nil)

// RedirectStore is the KeyValueStore the site function reads redirects from.
type RedirectStore struct {
	// ARN is the store's ARN (arn:aws:cloudfront::<account>:key-value-store/<id>).
	ARN string
	// Client is a cloudfront-keyvaluestore client (NewKeyValueStoreClient).
	Client KeyValueStoreAPI
}

// RedirectReport is what a release did (or, in a dry run, would do) to the redirect
// store.
type RedirectReport struct {
	// Rules is the number of rules the release serves.
	Rules   int      `json:"rules"`
	Put     []string `json:"put"`
	Deleted []string `json:"deleted"`
	// Unchanged counts the rules the store already held.
	Unchanged int `json:"unchanged"`
}

// redirectPlan is the planned change of the store.
type redirectPlan struct {
	live    map[string]string // the store's entries at plan time
	etag    string            // the store's version at plan time
	puts    map[string]string
	deletes []string
}

func (p *redirectPlan) empty() bool { return p == nil || len(p.puts) == 0 && len(p.deletes) == 0 }

// readRedirectStore lists the store's entries (no store configured: nothing).
func (r *run) readRedirectStore(ctx context.Context) error {
	rs := r.o.Redirects
	if rs == nil {
		return nil
	}
	arn := aws.String(rs.ARN)
	d, err := rs.Client.DescribeKeyValueStore(ctx, &cloudfrontkeyvaluestore.DescribeKeyValueStoreInput{KvsARN: arn})
	if err != nil {
		return fmt.Errorf("read redirect store %s: %w", rs.ARN, err)
	}
	p := &redirectPlan{live: map[string]string{}, etag: aws.ToString(d.ETag)}
	var token *string
	for {
		out, err := rs.Client.ListKeys(ctx, &cloudfrontkeyvaluestore.ListKeysInput{KvsARN: arn, NextToken: token})
		if err != nil {
			return fmt.Errorf("list redirect store %s: %w", rs.ARN, err)
		}
		for _, it := range out.Items {
			p.live[aws.ToString(it.Key)] = aws.ToString(it.Value)
		}
		if token = out.NextToken; token == nil || *token == "" {
			break
		}
	}
	r.redirectPlan = p
	return nil
}

// planRedirects compares the rules with the store and returns the viewer paths to
// invalidate (those of removed rules).
func (r *run) planRedirects() ([]string, error) {
	if r.o.Redirects == nil {
		if len(r.redirects) > 0 {
			return nil, fmt.Errorf("the site has %d redirects (%s) but the target names no redirect store to serve them from (world.json redirectStore, aws.json redirectStoreArn): restart `twinedge up`, or run `twinedge deploy` again; nothing was changed", len(r.redirects), RedirectsFile)
		}
		return nil, nil
	}
	want := redirectEntries(r.redirects)
	size := 0
	for k, v := range want {
		size += len(k) + len(v)
	}
	if size > maxRedirectStore {
		return nil, fmt.Errorf("the %d redirects take %d bytes; a KeyValueStore holds 5 MB (%d bytes): nothing was changed", len(want), size, maxRedirectStore)
	}
	p := r.redirectPlan
	p.puts = map[string]string{}
	for k, v := range want {
		if cur, ok := p.live[k]; !ok || cur != v {
			p.puts[k] = v
		}
	}
	var paths []string
	for k := range p.live {
		if _, ok := want[k]; !ok {
			p.deletes = append(p.deletes, k)
			paths = append(paths, redirectViewerPaths(k)...)
		}
	}
	sort.Strings(p.deletes)
	sort.Strings(paths)
	return paths, nil
}

// redirectViewerPaths are the invalidation paths of a rule's key: both forms of an
// exact path (the rule matched both), and a splat's prefix with everything below it.
func redirectViewerPaths(key string) []string {
	if prefix, ok := strings.CutSuffix(key, "/*"); ok {
		if prefix == "" {
			return []string{"/*"}
		}
		return []string{encodePath(prefix), encodePath(prefix+"/") + "*"}
	}
	if key == "/" {
		return []string{"/"}
	}
	return []string{encodePath(key), encodePath(key + "/")}
}

// redirectReport describes the plan.
func (r *run) redirectReport() *RedirectReport {
	p := r.redirectPlan
	if p == nil {
		return nil
	}
	rep := &RedirectReport{Rules: len(r.redirects), Put: sortedKeys(p.puts), Deleted: append([]string{}, p.deletes...)}
	rep.Unchanged = rep.Rules - len(rep.Put)
	return rep
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// applyRedirects writes the planned change: puts, then deletes, in UpdateKeys batches.
func (r *run) applyRedirects(ctx context.Context) error {
	p := r.redirectPlan
	if p.empty() {
		return nil
	}
	rs := r.o.Redirects
	etag := p.etag
	send := func(puts []kvstypes.PutKeyRequestListItem, dels []kvstypes.DeleteKeyRequestListItem) error {
		out, err := rs.Client.UpdateKeys(ctx, &cloudfrontkeyvaluestore.UpdateKeysInput{KvsARN: aws.String(rs.ARN), IfMatch: aws.String(etag), Puts: puts, Deletes: dels})
		if err != nil {
			var conflict *kvstypes.ConflictException
			if errors.As(err, &conflict) {
				return fmt.Errorf("the redirect store %s changed while the release ran (re-run to plan again): %w", rs.ARN, err)
			}
			return fmt.Errorf("update redirect store %s: %w", rs.ARN, err)
		}
		etag = aws.ToString(out.ETag)
		return nil
	}
	var puts []kvstypes.PutKeyRequestListItem
	bytes := 0
	for _, k := range sortedKeys(p.puts) {
		v := p.puts[k]
		if len(puts) == maxUpdateKeys || bytes+len(k)+len(v) > maxUpdateBytes {
			if err := send(puts, nil); err != nil {
				return err
			}
			puts, bytes = nil, 0
		}
		puts = append(puts, kvstypes.PutKeyRequestListItem{Key: aws.String(k), Value: aws.String(v)})
		bytes += len(k) + len(v)
	}
	if len(puts) > 0 {
		if err := send(puts, nil); err != nil {
			return err
		}
	}
	for i := 0; i < len(p.deletes); i += maxUpdateKeys {
		var dels []kvstypes.DeleteKeyRequestListItem
		for _, k := range p.deletes[i:min(i+maxUpdateKeys, len(p.deletes))] {
			dels = append(dels, kvstypes.DeleteKeyRequestListItem{Key: aws.String(k)})
		}
		if err := send(nil, dels); err != nil {
			return err
		}
	}
	r.prog.line("redirects: %d put, %d deleted", len(p.puts), len(p.deletes))
	return nil
}

// loadRedirects reads the site's redirects file and checks its rules against the
// site's files (r.files, loaded first).
func (r *run) loadRedirects(dir string) error {
	rules, err := ReadRedirects(dir)
	if err != nil {
		return err
	}
	if err := checkShadowing(rules, r.files); err != nil {
		return err
	}
	r.redirects = rules
	return nil
}

// mergePaths returns the sorted union of two sets of invalidation paths.
func mergePaths(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := append(append([]string{}, a...), b...)
	sort.Strings(out)
	return dedupe(out)
}
