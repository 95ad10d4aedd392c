#!/usr/bin/env bash
# Starts the services the tests run against, from ../shared/tools (beside this checkout in CI):
# PostgreSQL 15 (start-postgres.sh, ~1 s) and a single-node Ceph with its RADOS Gateway
# (start-ceph-rgw.sh, ~35 s; both install their Debian packages when missing). Writes one env file
# (TWIN_PG_URL, S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION) to
# $1 (default $TMPDIR/twin-services.env) and prints it. Fails, never skips, when a service does not
# come up. Stop them with: tools/services.sh stop
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${TWIN_SHARED_TOOLS:-$root/../shared/tools}
base=${TMPDIR:-/tmp}
export PG_DIR=${PG_DIR:-$base/twin-pg}
export CEPH_DIR=${CEPH_DIR:-$base/twin-ceph}
if [ "${1:-}" = stop ]; then
  [ -x "$PG_DIR/stop.sh" ] && "$PG_DIR/stop.sh" >/dev/null 2>&1 || true
  [ -x "$CEPH_DIR/stop.sh" ] && "$CEPH_DIR/stop.sh" >/dev/null 2>&1 || true
  exit 0
fi
out=${1:-$base/twin-services.env}
for script in start-postgres.sh start-ceph-rgw.sh; do
  [ -f "$tools/$script" ] || { echo "services.sh: $tools/$script not found (set TWIN_SHARED_TOOLS)" >&2; exit 1; }
done
bash "$tools/start-postgres.sh" >"$base/twin-pg.log" 2>&1 || { cat "$base/twin-pg.log" >&2; echo "services.sh: PostgreSQL did not start" >&2; exit 1; }
bash "$tools/start-ceph-rgw.sh" >"$base/twin-ceph.log" 2>&1 || { tail -30 "$base/twin-ceph.log" >&2; echo "services.sh: Ceph RGW did not start" >&2; exit 1; }
{ grep '^TWIN_PG_URL=' "$PG_DIR/pg.env"; grep -E '^(S3_ENDPOINT|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_DEFAULT_REGION)=' "$CEPH_DIR/s3.env"; } >"$out"
cat "$out"
