#!/usr/bin/env bash
# Lighthouse against the site as the edge serves it: prints the four scores
# (performance, accessibility, best practices, SEO), the first view's transfer size,
# and every audit that did not pass, so a score below 100 says why.
#
# Usage: infra/drill/lighthouse.sh [URL]
#   URL defaults to the edge of the world running on ${STATE:-.twinedge} (`twinedge up`).
#   --json FILE   also keep Lighthouse's full JSON report there.
#   --strict      exit 1 unless all four scores are 100 and the first view is under 30 KB.
#
# Lighthouse comes from npm, pinned: 13.x needs Node 22, and 12.2.3 is the newest that
# runs on the machine's Node 20. It is installed once under ${TWINEDGE_TOOLS:-~/.cache/twinedge}
# (never into the repo). Chromium is Debian's (CHROME_PATH, default /usr/bin/chromium).
set -euo pipefail

LH_VERSION=12.2.3
tools="${TWINEDGE_TOOLS:-$HOME/.cache/twinedge}/lighthouse"
state="${STATE:-.twinedge}"
url="" json="" strict=0
while [ $# -gt 0 ]; do
  case "$1" in
    --json) json="$2"; shift 2 ;;
    --strict) strict=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) url="$1"; shift ;;
  esac
done

if [ -z "$url" ]; then
  if [ ! -f "$state/world.json" ]; then
    echo "lighthouse.sh: no URL given and no $state/world.json: start a world with 'go run . up' or pass a URL" >&2
    exit 2
  fi
  url=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).edge)' "$state/world.json")/
fi

export CHROME_PATH="${CHROME_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROME_PATH" ]; then
  echo "lighthouse.sh: no Chromium at $CHROME_PATH: apt-get install chromium" >&2
  exit 2
fi
lh="$tools/node_modules/.bin/lighthouse"
if [ ! -x "$lh" ] || ! grep -q "\"version\": \"$LH_VERSION\"" "$tools/node_modules/lighthouse/package.json" 2>/dev/null; then
  echo "installing lighthouse@$LH_VERSION under $tools" >&2
  mkdir -p "$tools"
  npm i -E --prefix "$tools" --no-audit --no-fund --loglevel=error "lighthouse@$LH_VERSION" >&2
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
report="${json:-$out/report.json}"
profile="$out/profile"
# Desktop preset: the site is judged as a visitor on a desktop browser sees it; the mobile
# preset's simulated slow 4G is still available with LH_PRESET=mobile.
preset=()
[ "${LH_PRESET:-desktop}" = desktop ] && preset=(--preset=desktop)
"$lh" "$url" "${preset[@]}" \
  --only-categories=performance,accessibility,best-practices,seo \
  --output=json --output-path="$report" --quiet \
  --chrome-flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage --user-data-dir=$profile" \
  >&2

node - "$report" "$strict" <<'EOF'
const fs = require("fs");
const [file, strict] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file));
const cats = ["performance", "accessibility", "best-practices", "seo"];
let all100 = true;
console.log(`lighthouse ${r.lighthouseVersion} · ${r.finalDisplayedUrl} · ${r.configSettings.formFactor}`);
for (const c of cats) {
  const s = Math.round((r.categories[c].score ?? 0) * 100);
  if (s !== 100) all100 = false;
  console.log(`${r.categories[c].title.padEnd(16)} ${s}`);
}
const weight = r.audits["total-byte-weight"];
const kb = weight ? weight.numericValue / 1024 : NaN;
console.log(`first view transfer: ${kb.toFixed(1)} KB (${weight ? weight.details.items.length : "?"} requests)`);
// Every audit that counts towards a category and did not pass, with its title and why.
const failing = [];
for (const c of cats) {
  for (const ref of r.categories[c].auditRefs) {
    const a = r.audits[ref.id];
    if (ref.weight > 0 && a.score !== null && a.score < 1 && a.scoreDisplayMode !== "informative" && a.scoreDisplayMode !== "notApplicable") {
      failing.push(`  ${c}: ${a.id} (${Math.round(a.score * 100)}): ${a.title}${a.displayValue ? " — " + a.displayValue : ""}`);
    }
  }
}
if (failing.length) {
  console.log("audits below 100:");
  for (const f of failing) console.log(f);
}
if (strict === "1" && (!all100 || !(kb < 30))) process.exit(1);
EOF
