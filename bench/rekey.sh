#!/usr/bin/env bash
# The cost of a revocation that re-keys, against uploading the same entries, in one run: a fresh
# `twin serve` on loopback; alice uploads ENTRIES (default 10,000) small distinct files under the
# attribute "family" and grants bob "family" and carol "family or work"; then `twin revoke bob`
# re-wraps every one of those entries and re-issues carol's key. A second `twin rekey` (nothing
# stale) shows what listing and checking alone cost. Prints one JSON object.
#
# Usage: bench/rekey.sh            (ENTRIES=N to change the count; TWIN=/path/to/twin for a build)
# Not run by CI.
set -euo pipefail
export TWIN_PASSPHRASE="${TWIN_PASSPHRASE:-twin-bench-passphrase}" TWIN_KEYRING_SCRYPT_N="${TWIN_KEYRING_SCRYPT_N:-16384}"
root=$(cd "$(dirname "$0")/.." && pwd)
entries="${ENTRIES:-10000}"
[[ "$entries" =~ ^[1-9][0-9]*$ ]] || { echo "rekey.sh: ENTRIES must be a positive integer" >&2; exit 2; }
work=$(mktemp -d)
server=""
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
cd "$root"
if [ -n "${TWIN:-}" ]; then
  twin=$(cd "$(dirname "$TWIN")" && pwd)/$(basename "$TWIN")
else
  swift build -c release --static-swift-stdlib --scratch-path .build-static --product twin >/dev/null
  twin="$root/.build-static/release/twin"
fi
python3 - "$work/photos" "$entries" <<'PY'
import os, sys
folder, count = sys.argv[1], int(sys.argv[2])
os.makedirs(folder)
for i in range(count):
    with open(os.path.join(folder, f"img{i:06d}.jpg"), "wb") as f:
        f.write(os.urandom(2048))
PY
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
"$twin" serve --data "$work/data" --port "$port" --log-level warning &
server=$!
for _ in $(seq 50); do curl -fs "$url/healthz" >/dev/null && break; sleep 0.1; done
for user in alice bob carol; do TWIN_HOME="$work/$user" "$twin" account create "$user" --server "$url" >/dev/null; done
seconds() { local start; start=$(date +%s.%N); "$@" >"$work/out.json"; echo "$(date +%s.%N) - $start" | bc; }
export TWIN_HOME="$work/alice"
upload=$(seconds "$twin" upload "$work/photos" --attributes family --json)
"$twin" grant bob --policy family
"$twin" grant carol --policy "family or work"
revoke=$(seconds "$twin" revoke bob --json)
cp "$work/out.json" "$work/revoke.json"
rekey=$(seconds "$twin" rekey --json)
python3 - "$entries" "$upload" "$revoke" "$rekey" "$work/revoke.json" "$work/out.json" <<'PY'
import json, sys
entries, upload, revoke, rekey = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
report, again = json.load(open(sys.argv[5])), json.load(open(sys.argv[6]))
assert report["rewrapped"] == entries and report["regranted"] == ["carol"], report
assert again["rewrapped"] == 0, again
print(json.dumps({"entries": entries, "upload_seconds": round(upload, 3), "revoke_seconds": round(revoke, 3),
                  "rekey_nothing_stale_seconds": round(rekey, 3), "revoke_ms_per_entry": round(1000 * revoke / entries, 3),
                  "revoke_vs_upload": round(revoke / upload, 3), "rewrapped": report["rewrapped"], "regranted": report["regranted"]}))
PY
