#!/usr/bin/env bash
# Uploads one folder of real photos through Tahoe-LAFS and through TwinStore on loopback, in
# alternating rounds, and prints both throughputs and their ratios, for new photos and for photos the
# store already holds.
#
#   Tahoe-LAFS 1.20 (PyPI, in a throw-away virtualenv): an introducer and one storage node, 1-of-1
#   erasure coding (shares needed = happy = total = 1), files PUT one after another to the node's web
#   API (`PUT /uri`, immutable CHK) over one keep-alive connection. "New": a fresh node; "stored": the
#   same files again, which Tahoe's convergent encryption finds on the storage server.
#   TwinStore: a fresh `twin serve` (SQLite + folder) per round; "new": alice runs `twin upload DIR`;
#   "stored": bob uploads the same folder (every chunk deduplicated). Accounts are made before the
#   clock, as Tahoe's nodes are started before it.
#
# Usage: bench/compare-tahoe.sh DIR        (a folder of photos, e.g. make_corpus.py's base/)
#   ROUNDS=N   alternating rounds (default 3); each side keeps its median
#   TWIN=PATH  our binary (default: this checkout, built with swift build -c release)
#   UPLOAD_ARGS="…"  more `twin upload` options (e.g. --no-thumbnails: Tahoe makes no thumbnails)
# Needs python3 with venv and PyPI. Not run by CI.
set -euo pipefail
photos=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
rounds="${ROUNDS:-3}"
work=$(mktemp -d "${TMPDIR:-/tmp}/compare-tahoe.XXXXXX")
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export TWIN_PASSPHRASE="${TWIN_PASSPHRASE:-twin-bench-passphrase}" TWIN_KEYRING_SCRYPT_N="${TWIN_KEYRING_SCRYPT_N:-16384}"

if [ -n "${TWIN:-}" ]; then
  twin=$(cd "$(dirname "$TWIN")" && pwd)/$(basename "$TWIN")
else
  (cd "$root" && swift build -c release --static-swift-stdlib --scratch-path .build-static --product twin >/dev/null)
  twin="$root/.build-static/release/twin"
fi

echo "installing tahoe-lafs 1.20 into $work/venv" >&2
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "tahoe-lafs==1.20.0" >&2
tahoe="$work/venv/bin/tahoe"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for_file() { for _ in $(seq 300); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "compare-tahoe.sh: $1 never appeared" >&2; exit 1; }

# PUTs every file of the folder to a Tahoe node's web API, one keep-alive connection; prints seconds.
cat >"$work/tahoe_put.py" <<'PY'
import http.client, os, sys, time
port, folder = int(sys.argv[1]), sys.argv[2]
files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if os.path.isfile(os.path.join(folder, f)))
bodies = [open(f, "rb").read() for f in files]
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
start = time.perf_counter()
for body in bodies:
    connection.request("PUT", "/uri", body=body)
    answer = connection.getresponse()
    cap = answer.read()
    if answer.status not in (200, 201) or not cap.startswith(b"URI:"):
        sys.exit(f"tahoe PUT /uri: {answer.status} {cap[:200]!r}")
print(time.perf_counter() - start)
PY

# Starts a fresh introducer and storage node (1-of-1) and waits until an upload goes through;
# leaves the node's web port in $tahoe_web.
tahoe_start() {
  local dir="$work/tahoe-$1" intro_port node_port
  mkdir -p "$dir"
  intro_port=$(free_port); node_port=$(free_port); tahoe_web=$(free_port)
  "$tahoe" create-introducer --port="tcp:$intro_port:interface=127.0.0.1" \
    --location="tcp:127.0.0.1:$intro_port" "$dir/introducer" >/dev/null
  "$tahoe" run --allow-stdin-close "$dir/introducer" >"$dir/introducer.log" 2>&1 &
  pids+=($!)
  wait_for_file "$dir/introducer/private/introducer.furl"
  "$tahoe" create-node --port="tcp:$node_port:interface=127.0.0.1" \
    --location="tcp:127.0.0.1:$node_port" --webport="tcp:$tahoe_web:interface=127.0.0.1" \
    --introducer="$(cat "$dir/introducer/private/introducer.furl")" \
    --shares-needed=1 --shares-happy=1 --shares-total=1 "$dir/node" >/dev/null
  "$tahoe" run --allow-stdin-close "$dir/node" >"$dir/node.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do
    if curl -fs -X PUT --data-binary "probe $1" "http://127.0.0.1:$tahoe_web/uri" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "compare-tahoe.sh: the Tahoe node never accepted an upload (see $dir/node.log)" >&2
  exit 1
}

tahoe_stop() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }

tahoe_round() {
  tahoe_start "$1"
  sync
  tahoe_new+=("$("$work/venv/bin/python" "$work/tahoe_put.py" "$tahoe_web" "$photos")")
  sync
  tahoe_stored+=("$("$work/venv/bin/python" "$work/tahoe_put.py" "$tahoe_web" "$photos")")
  tahoe_stop
}

twin_round() {
  local dir="$work/twin-$1" port start
  port=$(free_port)
  "$twin" serve --data "$dir/data" --port "$port" --log-level warning &
  pids+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  for user in alice bob; do
    TWIN_HOME="$dir/$user" "$twin" account create "$user" --server "http://127.0.0.1:$port" >/dev/null
  done
  sync  # no side pays for the other's dirty pages (twin serve's syncfs would flush Tahoe's)
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  TWIN_HOME="$dir/alice" "$twin" upload "$photos" --attributes family ${UPLOAD_ARGS:-} >/dev/null
  twin_new+=("$(echo "$(date +%s.%N) - $start" | bc)")
  sync
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  TWIN_HOME="$dir/bob" "$twin" upload "$photos" --attributes family ${UPLOAD_ARGS:-} >/dev/null
  twin_stored+=("$(echo "$(date +%s.%N) - $start" | bc)")
  tahoe_stop
}

# Both sides read the same files; read them once first so neither pays for a cold page cache.
find "$photos" -maxdepth 1 -type f -exec cat {} + >/dev/null
tahoe_new=(); tahoe_stored=(); twin_new=(); twin_stored=()
for round in $(seq "$rounds"); do
  echo "round $round/$rounds: Tahoe-LAFS, then TwinStore" >&2
  tahoe_round "$round"
  twin_round "$round"
done

bytes=$(find "$photos" -maxdepth 1 -type f -printf '%s\n' | awk '{s += $1} END {print s}')
files=$(find "$photos" -maxdepth 1 -type f | wc -l)
python3 - "$bytes" "$files" "${tahoe_new[*]}" "${tahoe_stored[*]}" "${twin_new[*]}" "${twin_stored[*]}" <<'PY'
import json, statistics, sys
size, files = int(sys.argv[1]), int(sys.argv[2])
tahoe_new, tahoe_stored, twin_new, twin_stored = ([float(x) for x in a.split()] for a in sys.argv[3:7])
rate = lambda seconds: size / statistics.median(seconds) / 1e6
result = {
    "files": files, "bytes": size, "rounds": len(twin_new),
    "tahoe_new_mb_s": round(rate(tahoe_new), 1), "twin_new_mb_s": round(rate(twin_new), 1),
    "new_ratio": round(rate(twin_new) / rate(tahoe_new), 2),
    "tahoe_stored_mb_s": round(rate(tahoe_stored), 1), "twin_stored_mb_s": round(rate(twin_stored), 1),
    "stored_ratio": round(rate(twin_stored) / rate(tahoe_stored), 2),
    "seconds_rounds": {"tahoe_new": tahoe_new, "tahoe_stored": tahoe_stored, "twin_new": twin_new, "twin_stored": twin_stored},
}
print(f"{files} files, {size / 1e6:.1f} MB, median of {len(twin_new)} rounds", file=sys.stderr)
print(f"new photos:     TwinStore {result['twin_new_mb_s']} MB/s, Tahoe-LAFS {result['tahoe_new_mb_s']} MB/s: {result['new_ratio']}x", file=sys.stderr)
print(f"already stored: TwinStore {result['twin_stored_mb_s']} MB/s, Tahoe-LAFS {result['tahoe_stored_mb_s']} MB/s: {result['stored_ratio']}x", file=sys.stderr)
print(json.dumps(result))
PY
