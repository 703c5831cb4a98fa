#!/bin/sh
# Benchmark: twinedge release to two regions vs `aws s3 sync` to one, same S3 endpoint.
# Usage: build/bench/release.sh [-s3 local|moto|URL] [-files N]
set -eu
cd "$(dirname "$0")/../.."
exec go run ./build/bench "$@"
