#!/bin/sh
# Benchmark: twinedge release to two local regions vs s3deploy (when S3DEPLOY names its
# binary) and aws s3 sync, each run once per region. See build/bench/main.go.
# Usage: [S3DEPLOY=/path/to/s3deploy] build/bench/release.sh [-files N] [-big-mb M] [-runs R]
set -eu
cd "$(dirname "$0")/../.."
exec go run ./build/bench "$@"
