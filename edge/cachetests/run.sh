#!/bin/sh
# Run the HTTP caching test suite http-tests/cache-tests (cache-tests.fyi) through the
# edge and print its required/optimal/check totals beside the suite's published results
# for nginx, Varnish and Fastly, then the required failures that
# edge/cachetests/expected-failures.json does not explain.
#
#   edge/cachetests/run.sh [SUITE]
#
# SUITE is a checkout of github.com/http-tests/cache-tests: a work tree, or a git
# directory (e.g. a bare mirror; its HEAD is exported). Without SUITE the npm package
# http-cache-tests is fetched with `npm pack` instead; its newest release (0.4.5) is an
# older layout (cli.mjs, client/, server/, lib/ at the top instead of under
# test-engine/) with older tests and older published results, so its figures are not
# comparable with a checkout's. Needs node (>= 18), npm and go.
#
# Environment: CACHETESTS_KEEP=1 keeps the temporary directory (results.json, logs).
# Exit status: 0 when every required failure is explained, 1 otherwise, 2 on a set-up
# error. A whole run takes about a minute.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	if [ "${CACHETESTS_KEEP:-}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM
die() { echo "cachetests: $*" >&2; exit 2; }

suite=$tmp/suite
mkdir -p "$suite"
if [ $# -ge 1 ]; then
	src=$1
	if [ -d "$src/test-engine" ] || [ -f "$src/cli.mjs" ]; then
		(cd "$src" && tar -cf - --exclude=node_modules --exclude=.git .) | tar -xf - -C "$suite"
	elif git --git-dir="$src" rev-parse --verify -q HEAD >/dev/null 2>&1; then
		git --git-dir="$src" archive HEAD | tar -xf - -C "$suite"
		echo "suite: $(git --git-dir="$src" log -1 --format='%h %cs' HEAD)" >&2
	else
		die "$src is neither a cache-tests work tree nor a git directory"
	fi
else
	(cd "$tmp" && npm pack --silent http-cache-tests >/dev/null) || die "npm pack http-cache-tests failed"
	tar -xzf "$tmp"/http-cache-tests-*.tgz -C "$suite" --strip-components=1
	echo "suite: npm package http-cache-tests $(node -p "require('$suite/package.json').version") (older layout and results)" >&2
fi
engine=$suite/test-engine
[ -d "$engine" ] || engine=$suite
[ -f "$engine/server/server.mjs" ] && [ -f "$engine/cli.mjs" ] || die "no server/server.mjs and cli.mjs in the suite"

# The test server listens on every interface by default; keep it on loopback.
sed -i 's/server\.listen(port)/server.listen(port, "127.0.0.1")/' "$engine/server/server.mjs"
grep -q 'server.listen(port, "127.0.0.1")' "$engine/server/server.mjs" || die "could not bind the test server to 127.0.0.1"
(cd "$suite" && npm install --omit=dev --no-audit --no-fund --silent >"$tmp/npm.log" 2>&1) || { cat "$tmp/npm.log" >&2; die "npm install failed"; }

freeport() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
oport=$(freeport)
(cd "$suite" && npm_config_protocol=http npm_config_port=$oport npm_config_pidfile=$tmp/server.pid \
	exec node "$engine/server/server.mjs") >"$tmp/server.log" 2>&1 &
pids="$pids $!"

(cd "$root" && go build -o "$tmp/edge" ./edge/cachetests) || die "go build ./edge/cachetests failed"
"$tmp/edge" -origin "http://127.0.0.1:$oport" -listen 127.0.0.1:0 -ready "$tmp/edge.addr" >"$tmp/edge.log" 2>&1 &
pids="$pids $!"

i=0
until [ -s "$tmp/edge.addr" ] && grep -q Listening "$tmp/server.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 100 ] || { cat "$tmp/server.log" "$tmp/edge.log" >&2; die "the test server or the edge did not start"; }
	sleep 0.1
done
edgeaddr=$(cat "$tmp/edge.addr")

# Both id variables must be set and empty, or cli.mjs runs nothing (judges.md).
(cd "$suite" && npm_config_base=http://$edgeaddr npm_config_id= npm_package_config_id= \
	node --no-warnings "$engine/cli.mjs") >"$tmp/results.json" 2>"$tmp/cli.log" || { cat "$tmp/cli.log" >&2; die "the suite's client failed"; }

node "$here/summary.mjs" "$suite" "$engine" "$tmp/results.json" "$here/expected-failures.json"
