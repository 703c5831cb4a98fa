// Command cachetests serves one CloudFront distribution in front of one custom origin,
// so the HTTP caching test suite http-tests/cache-tests (the suite behind
// cache-tests.fyi) can be run through the edge: run.sh starts the suite's test server,
// this program in front of it, and the suite's client against this program.
//
// The distribution is what the suite needs to see a cache at all: one custom origin
// (HTTP only), a default behaviour with all seven methods (GET and HEAD cached), the
// managed cache policy UseOriginCacheControlHeaders-QueryStrings (TTLs from the
// origin's Cache-Control, query strings in the key) and the managed origin request
// policy AllViewer. With CachingOptimized most of the suite collapses, because its
// 24-hour default TTL caches what the origin left without freshness
// (/work/shared/spec/judges.md).
//
//	go run ./edge/cachetests -origin http://127.0.0.1:8000 -listen 127.0.0.1:8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/twinedge/twinedge/edge"
)

// originDomain is the origin's name in the distribution; the edge resolves it to the
// -origin address (Options.Resolve), since CloudFront takes no IP address as a custom
// origin's domain.
const originDomain = "cache-tests.origin.test"

func main() {
	origin := flag.String("origin", "", "the cache-tests server, e.g. http://127.0.0.1:8000")
	listen := flag.String("listen", "127.0.0.1:0", "address the edge listens on")
	ready := flag.String("ready", "", "write the edge's address to this file once it listens")
	flag.Parse()
	if err := run(*origin, *listen, *ready); err != nil {
		fmt.Fprintln(os.Stderr, "cachetests:", err)
		os.Exit(1)
	}
}

func run(origin, listen, ready string) error {
	hostport, port, err := originAddr(origin)
	if err != nil {
		return err
	}
	e, err := edge.New(distribution(port), edge.Options{
		Resolve: func(domain string) (string, bool) {
			return hostport, domain == originDomain
		},
		OriginScheme: "http",
	})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	if ready != "" {
		if err := os.WriteFile(ready, []byte(l.Addr().String()+"\n"), 0o644); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	if err := e.Serve(l); err != nil && ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// originAddr checks the -origin URL and returns its host:port and port.
func originAddr(origin string) (string, int32, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
		return "", 0, fmt.Errorf("-origin %q: want http://HOST:PORT", origin)
	}
	port, err := strconv.ParseUint(u.Port(), 10, 16)
	if err != nil || port == 0 {
		return "", 0, fmt.Errorf("-origin %q: bad port", origin)
	}
	return u.Host, int32(port), nil
}

func distribution(port int32) *types.DistributionConfig {
	i32 := aws.Int32
	all := []types.Method{types.MethodGet, types.MethodHead, types.MethodOptions, types.MethodPut, types.MethodPatch, types.MethodPost, types.MethodDelete}
	return &types.DistributionConfig{
		CallerReference: aws.String("cache-tests"), Comment: aws.String("http-tests/cache-tests through the edge"), Enabled: aws.Bool(true),
		Origins: &types.Origins{Quantity: i32(1), Items: []types.Origin{{
			Id: aws.String("cache-tests"), DomainName: aws.String(originDomain), OriginPath: aws.String(""),
			CustomOriginConfig: &types.CustomOriginConfig{HTTPPort: i32(port), HTTPSPort: i32(443),
				OriginProtocolPolicy: types.OriginProtocolPolicyHttpOnly, OriginReadTimeout: i32(30), OriginKeepaliveTimeout: i32(5)},
			ConnectionAttempts: i32(1), ConnectionTimeout: i32(2), CustomHeaders: &types.CustomHeaders{Quantity: i32(0)},
		}}},
		DefaultCacheBehavior: &types.DefaultCacheBehavior{
			TargetOriginId: aws.String("cache-tests"), ViewerProtocolPolicy: types.ViewerProtocolPolicyAllowAll,
			CachePolicyId:         aws.String(edge.UseOriginCacheControlHeadersQueryStringsID),
			OriginRequestPolicyId: aws.String(edge.AllViewerID),
			Compress:              aws.Bool(false),
			AllowedMethods: &types.AllowedMethods{Quantity: i32(int32(len(all))), Items: all,
				CachedMethods: &types.CachedMethods{Quantity: i32(2), Items: []types.Method{types.MethodGet, types.MethodHead}}},
			FunctionAssociations: &types.FunctionAssociations{Quantity: i32(0)},
		},
		CustomErrorResponses: &types.CustomErrorResponses{Quantity: i32(0)},
	}
}
