package drill

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/twinedge/twinedge/build"
)

// Probe objects are why the drill's site GETs test the fault. A cache hit never reaches an
// origin, and the site has only a handful of objects: after one miss each, everything comes
// from the edge cache (index.html for a second, hashed assets for a year), and query strings
// do not help because CachingOptimized leaves them out of the cache key. Extensionless
// routes do not help either: the SPA function rewrites them all to /index.html before the
// cache key is computed. So the drill uploads small objects of its own to both buckets,
// under drill/<run>/, through the S3 API as a release does, and requests each one once: every
// probe GET is a miss by construction and goes to the primary origin first. They are deleted
// when the drill ends (a later release would otherwise delete them, and count them against
// its delete budget).
const (
	probePrefix = "drill/"
	probeSize   = 4 << 10
	// maxProbes bounds the upload; past it probe paths are reused, and the report's origin
	// share says how many probe GETs were hits.
	maxProbes = 4000
)

type probeSet struct {
	keys    []string
	sums    [][32]byte
	clients map[string]*s3.Client
	buckets map[string]string
}

func probeBody(run string, i int) []byte {
	head := fmt.Sprintf("twinedge drill %s probe %d\n", run, i)
	return append([]byte(head), bytes.Repeat([]byte("."), probeSize-len(head)-1)...)
}

// uploadProbes removes what earlier drills left under drill/ and uploads n probe objects to
// every region's bucket, each with the x-amz-meta-region of its bucket as a release sets it.
func uploadProbes(ctx context.Context, regions []Region, run string, n int) (*probeSet, error) {
	ps := &probeSet{clients: map[string]*s3.Client{}, buckets: map[string]string{}}
	for _, reg := range regions {
		if reg.Bucket == "" {
			return nil, fmt.Errorf("region %s: no bucket", reg.Name)
		}
		c, err := build.NewS3Client(ctx, reg.Origin, reg.Name)
		if err != nil {
			return nil, err
		}
		ps.clients[reg.Name], ps.buckets[reg.Name] = c, reg.Bucket
	}
	if err := ps.removePrefix(ctx, probePrefix); err != nil {
		return nil, err
	}
	for i := range n {
		ps.keys = append(ps.keys, fmt.Sprintf("%s%s/p-%05d.txt", probePrefix, run, i))
		ps.sums = append(ps.sums, sha256.Sum256(probeBody(run, i)))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for name, c := range ps.clients {
		for i, key := range ps.keys {
			g.Go(func() error {
				_, err := c.PutObject(gctx, &s3.PutObjectInput{
					Bucket:       aws.String(ps.buckets[name]),
					Key:          aws.String(key),
					Body:         bytes.NewReader(probeBody(run, i)),
					ContentType:  aws.String("text/plain; charset=utf-8"),
					CacheControl: aws.String("public, max-age=300"),
					Metadata:     map[string]string{"region": name},
				})
				if err != nil {
					return fmt.Errorf("put %s to %s: %w", key, name, err)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		ps.remove(context.WithoutCancel(ctx))
		return nil, err
	}
	return ps, nil
}

// remove deletes every probe object in every bucket.
func (ps *probeSet) remove(ctx context.Context) error {
	return ps.removePrefix(ctx, probePrefix)
}

func (ps *probeSet) removePrefix(ctx context.Context, prefix string) error {
	var errs []error
	for name, c := range ps.clients {
		bucket := ps.buckets[name]
		var keys []string
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("list %s in %s: %w", prefix, name, err))
				break
			}
			for _, o := range page.Contents {
				if k := aws.ToString(o.Key); strings.HasPrefix(k, prefix) {
					keys = append(keys, k)
				}
			}
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(32)
		for _, k := range keys {
			g.Go(func() error {
				_, err := c.DeleteObject(gctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
				return err
			})
		}
		if err := g.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("delete probes in %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
