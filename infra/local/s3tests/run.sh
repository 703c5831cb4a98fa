#!/usr/bin/env bash
# Runs the ceph/s3-tests selection in selection.txt (the S3 conformance suite, on the subset a
# site origin and a release depend on) against the local S3 origin and against moto_server,
# and prints both counts. A judge, not our own test: see spec/judges.md.
#
#   infra/local/s3tests/run.sh S3TESTS_DIR [local|moto|both] [pytest args...]
#
# S3TESTS_DIR is a checkout of https://github.com/ceph/s3-tests (CI cannot fetch GitHub, so
# this script is run on demand, never by go test). It is copied to a temporary directory and
# run from there; nothing of it enters the project. Needs python3 with pytest, boto3, munch,
# isodate, pytz, pytest-timeout, requests, dateutil (Debian: python3-pytest python3-munch
# python3-isodate python3-tz python3-pytest-timeout python3-boto3), go, and moto_server for
# the moto target. PYTHON chooses the interpreter (default python3 on PATH; its boto3 decides
# which client behaviour is judged: boto3 >= 1.36 sends CRC32 checksums on every upload, as
# current SDKs do). Each target starts from an empty store.
#
# --timeout 900: under load (2 cores, many jobs) one test of multipart GETs took 300 s.
#
# Output: one line per target, "local: 200 passed, 31 failed, 0 errors of 231", and
# JUnit XML and logs under the directory it prints (kept for reading the failures).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
if [ $# -lt 1 ] || [ ! -d "$1/s3tests/functional" ]; then
  echo "usage: $0 S3TESTS_DIR [local|moto|both] [pytest args...]" >&2
  echo "S3TESTS_DIR must be a checkout of https://github.com/ceph/s3-tests" >&2
  exit 2
fi
src="$(cd "$1" && pwd)"
which="${2:-both}"
shift $(( $# >= 2 ? 2 : 1 ))
case "$which" in local|moto|both) ;; *) echo "target must be local, moto or both, not $which" >&2; exit 2 ;; esac

py="${PYTHON:-python3}"
work="$(mktemp -d /tmp/s3tests-run.XXXXXX)"
mods='import boto3, pytest, munch, isodate, pytz, pytest_timeout, requests, dateutil'
# A Python whose boto3 is current but which lacks the test runner (the usual pip-installed
# awscli/boto3 image) borrows Debian's pure-Python packages of the same minor version, linked
# one by one so that Debian's older boto3 never shadows its own.
deb=/usr/lib/python3/dist-packages
if ! "$py" -c "$mods" 2>/dev/null && [ -d "$deb/pytest" ] &&
   [ "$("$py" -c 'import sys; print(sys.version_info[:2])')" = "$(/usr/bin/python3 -c 'import sys; print(sys.version_info[:2])' 2>/dev/null)" ]; then
  mkdir -p "$work/pyshim"
  for n in _pytest pytest pluggy iniconfig py py.py attr attrs packaging munch isodate pytz pytest_timeout.py; do
    [ -e "$deb/$n" ] && ln -s "$deb/$n" "$work/pyshim/$n"
    for meta in "$deb/${n%.py}"-*-info; do # pkg_resources looks the distributions up
      [ -e "$meta" ] && ln -sf "$meta" "$work/pyshim/"
    done
  done
  export PYTHONPATH="$work/pyshim${PYTHONPATH:+:$PYTHONPATH}"
fi
if ! "$py" -c "$mods" 2>/dev/null; then
  echo "$py lacks a module the suite needs; install python3-pytest python3-munch python3-isodate python3-tz python3-pytest-timeout (Debian) or set PYTHON" >&2
  exit 1
fi
echo "python: $("$py" -c 'import sys, boto3; print(sys.version.split()[0], "boto3", boto3.__version__)')" >&2

cp -r "$src/s3tests" "$src/pytest.ini" "$work/"
mapfile -t tests < <(grep -v '^#' "$here/selection.txt" | grep -v '^[[:space:]]*$')
echo "suite copied to $work; ${#tests[@]} tests selected" >&2

(cd "$root" && go build -o "$work/s3origin" ./infra/local/s3tests)

freeport() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Each server runs in a process group of its own (setsid), so that stopping it also stops what
# a wrapper started (pyenv's moto_server shim runs python as a child).
pids=()
stop() { kill -- "-$1" 2>/dev/null || kill "$1" 2>/dev/null || true; }
cleanup() {
  for p in "${pids[@]}"; do stop "$p"; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 143' INT TERM # exit runs the EXIT trap

# waitport PORT PID: wait until something answers on PORT, or PID exits.
waitport() {
  for _ in $(seq 1 100); do
    if "$py" -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# conf PORT FILE: the S3TEST_CONF for a server on PORT. Every identity has the one key pair
# (test/test), so the selection leaves out tests that need a second identity.
conf() {
  local ident
  ident() {
    printf '[%s]\ndisplay_name = %s\nuser_id = %s\nemail = %s@example.com\naccess_key = test\nsecret_key = test\n' "$1" "$2" "$2" "$2"
  }
  {
    printf '[DEFAULT]\nhost = 127.0.0.1\nport = %s\nis_secure = False\nssl_verify = False\n\n' "$1"
    printf '[fixtures]\nbucket prefix = s3t-{random}-\n\n'
    ident "s3 main" main; echo
    ident "s3 alt" alt; echo
    ident "s3 tenant" tenant; printf 'tenant = tenant\n\n'
    ident "iam" iam; echo
    ident "iam root" iamroot; echo
    ident "iam alt root" iamaltroot
  } > "$2"
}

# runtarget NAME: start the server, run the selection, print the count line.
runtarget() {
  local name="$1" port pid
  shift
  port="$(freeport)"
  case "$name" in
    local)
      mkdir -p "$work/local-store"
      AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test setsid "$work/s3origin" -addr "127.0.0.1:$port" \
        -dir "$work/local-store" -region us-east-1 -v > "$work/local-server.log" 2>&1 &
      ;;
    moto)
      command -v moto_server >/dev/null || { echo "moto: moto_server not found (pip install 'moto[server]')" >&2; return 0; }
      setsid moto_server -H 127.0.0.1 -p "$port" > "$work/moto-server.log" 2>&1 &
      ;;
  esac
  pid=$!
  pids+=("$pid")
  if ! waitport "$port" "$pid"; then
    echo "$name: server did not start; see $work/$name-server.log" >&2
    return 1
  fi
  conf "$port" "$work/$name.conf"
  (cd "$work" && S3TEST_CONF="$work/$name.conf" PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1 \
    AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    "$py" -m pytest -p s3tests_fallback -p no:cacheprovider --timeout 900 -q -rfE \
    --junitxml="$work/$name.xml" "$@" "${tests[@]}" > "$work/$name.log" 2>&1) || true
  stop "$pid"
  "$py" - "$work/$name.xml" "$name" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root if root.tag == "testsuite" else root.find("testsuite")
total, fail, err, skip = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
print(f"{sys.argv[2]}: {total - fail - err - skip} passed, {fail} failed, {err} errors, {skip} skipped of {total}")
EOF
}

case "$which" in
  local) runtarget local "$@" ;;
  moto) runtarget moto "$@" ;;
  both) runtarget local "$@"; runtarget moto "$@" ;;
esac
echo "logs and JUnit XML: $work" >&2
