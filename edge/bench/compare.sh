#!/bin/sh
# Compare the edge's cache hits with nginx as a caching proxy (DESIGN.md, "Budgets").
# Needs nginx (Debian nginx-light) and wrk; -tls also measures hits over TLS, HTTP/1.1 with wrk
# and HTTP/2 with h2load (Debian nghttp2-client). Flags go to the Go program, e.g.
#   edge/bench/compare.sh -rounds 7 -d 5s -sizes 10KB,1MB -cpuprofile /tmp/edge.pprof
# Prints requests/s, p99 and the ratio edge/nginx for each object.
set -e
cd "$(dirname "$0")/../.."
exec go run ./edge/bench "$@"
