#!/bin/bash
# Cold start: how long a newcomer waits for `go run . up` to print the edge URL, first build
# included. It clones HEAD into a temporary directory and runs there with an empty Go build
# cache, so nothing of this checkout's cache helps.
#
# Usage: infra/local/bench/coldstart.sh [-runs N] [-fresh-modules] [-floor]
#   -fresh-modules  also start from an empty module cache (downloads from the proxy)
#   -floor          instead, time `go build` of a program that only imports twinedge's
#                   third-party packages (none of twinedge's code): the part of the cold
#                   start that twinedge's own code cannot change
set -euo pipefail
runs=1 fresh=0 floor=0
while [ $# -gt 0 ]; do
  case $1 in
    -runs) runs=$2; shift ;;
    -fresh-modules) fresh=1 ;;
    -floor) floor=1 ;;
    *) echo "usage: $0 [-runs N] [-fresh-modules] [-floor]" >&2; exit 2 ;;
  esac
  shift
done
repo=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3)"

for i in $(seq "$runs"); do
  rm -rf "$work/clone" "$work/cache" "$work/mod" "$work/state"
  git clone -q "$repo" "$work/clone"
  export GOCACHE="$work/cache"
  if [ $fresh = 1 ]; then export GOMODCACHE="$work/mod"; fi
  cd "$work/clone"
  if [ $floor = 1 ]; then
    mkdir -p "$work/floor"
    sed 's#^module .*#module floor#' go.mod > "$work/floor/go.mod"
    cp go.sum "$work/floor/"
    {
      echo 'package main'
      echo 'import ('
      go list -deps . | grep '\.' | grep -v '^github.com/twinedge/' | grep -v -e '/internal' -e '^vendor/' | sed 's/.*/\t_ "&"/'
      echo ')'
      echo 'func main() {}'
    } > "$work/floor/main.go"
    rm -rf "$work/cache"
    start=$(date +%s.%N)
    (cd "$work/floor" && go build -o /dev/null .)
    echo "run $i: third-party packages alone built in $(echo "$(date +%s.%N) - $start" | bc) s"
    continue
  fi
  start=$(date +%s.%N)
  setsid go run . up --addr 127.0.0.1:0 --state "$work/state" > "$work/up.out" 2>&1 &
  pid=$!
  until grep -q 'twinedge is up: http://' "$work/up.out"; do
    if ! kill -0 $pid 2>/dev/null; then echo "up exited:"; cat "$work/up.out"; exit 1; fi
    sleep 0.2
  done
  echo "run $i: edge URL after $(echo "$(date +%s.%N) - $start" | bc) s (load $(cut -d' ' -f1-3 /proc/loadavg))"
  kill -INT -- -$pid
  wait $pid || true
done
