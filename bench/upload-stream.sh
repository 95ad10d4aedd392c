#!/usr/bin/env bash
# Uploads the make_corpus.py stream through a real `twin serve` on loopback, one account per uNN
# folder (users in order u00, u01, …; each folder's files in name order, which is plan order), then
# backs the same stream up with restic into a local repository, in the same run, and prints one JSON
# object: stored bytes vs the corpus's pixel bound, bytes sent, and both wall times (twin_seconds: the
# uploads; accounts are created before the clock starts, as restic init runs before restic's).
#
# Usage: python3 ../shared/bench/make_corpus.py DIR > DIR.json && mv DIR.json DIR/corpus.json
#        bench/upload-stream.sh DIR
# Needs: restic (Debian package). Not run by CI.
# TWIN=/path/to/twin uses that binary instead of building this checkout (to compare two builds);
# the first build of this checkout takes a while (its own scratch path, see below).
set -euo pipefail
corpus=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
trap 'echo "upload-stream.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR
cd "$root"
if [ -n "${TWIN:-}" ]; then
  twin=$(cd "$(dirname "$TWIN")" && pwd)/$(basename "$TWIN")
else
  # The Swift runtime linked in: the stream starts 20 client processes, and resolving the shared
  # runtime's symbols is a third of a short command's start (twin --help 23 -> 13 ms). Its own
  # scratch path, so this build and the README's `swift run -c release` do not rebuild each other.
  swift build -c release --static-swift-stdlib --scratch-path .build-static --product twin >/dev/null
  twin="$root/.build-static/release/twin"
fi
port=$((20000 + RANDOM % 20000))
"$twin" serve --data "$work/data" --port "$port" --log-level warning &
server=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

# Accounts first, outside the clock, as `restic init` is outside restic's (timed separately).
start=$(date +%s.%N)
for dir in "$corpus"/stream/u*; do
  user=$(basename "$dir")
  TWIN_HOME="$work/homes/$user" "$twin" account create "$user" --server "http://127.0.0.1:$port" >/dev/null
done
account_seconds=$(echo "$(date +%s.%N) - $start" | bc)

start=$(date +%s.%N)
mkdir -p "$work/reports"
for dir in "$corpus"/stream/u*; do
  user=$(basename "$dir")
  TWIN_HOME="$work/homes/$user" "$twin" upload "$dir" --attributes family --json >"$work/reports/$user.json"
done
twin_seconds=$(echo "$(date +%s.%N) - $start" | bc)
# Summed after the clock stops, so the timing holds only TwinStore's own work.
read -r sent logical deduplicated proof < <(python3 - "$work/reports" <<'PY'
import glob, json, os, sys
reports = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(sys.argv[1], "*.json")))]
print(*(sum(r[k] for r in reports) for k in ("sent_bytes", "logical_bytes", "deduplicated_bytes", "proof_bytes")))
PY
)
stats=$(TWIN_HOME="$work/homes/$user" "$twin" stats --json)

export RESTIC_PASSWORD=bench
restic init --repository-version 1 -r "$work/restic" -q
start=$(date +%s.%N)
restic -r "$work/restic" backup -q "$corpus/stream" >/dev/null
restic_seconds=$(echo "$(date +%s.%N) - $start" | bc)
restic_bytes=$(du -sb "$work/restic" | cut -f1)

# make_corpus.py prints its summary once; save it as CORPUS_DIR/corpus.json.
pixel_bound=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pixel_bound_bytes"])' "$corpus/corpus.json" 2>/dev/null || echo 0)
python3 - "$stats" <<PY
import json, sys
stats = json.loads(sys.argv[1])
stored, pixel = stats["stored_bytes"], $pixel_bound
print(json.dumps({
    "logical_bytes": $logical, "stored_bytes": stored, "pixel_bound_bytes": pixel,
    "stored_over_pixel_bound": round(stored / pixel, 4) if pixel else None,
    "sent_bytes": $sent, "proof_bytes": $proof, "deduplicated_bytes": $deduplicated,
    "sent_over_stored": round($sent / stored, 4),
    "sent_minus_proof_over_stored": round(($sent - $proof) / stored, 4),
    "twin_seconds": round($twin_seconds, 3), "account_setup_seconds": round($account_seconds, 3),
    "restic_seconds": round($restic_seconds, 3),
    "twin_over_restic_time": round($twin_seconds / $restic_seconds, 3),
    "restic_repository_bytes": $restic_bytes,
}, sort_keys=True))
PY
