#!/usr/bin/env bash
# Uploads the make_corpus.py stream through a real `twin serve` on loopback, one account per uNN
# folder (users in order u00, u01, …; each folder's files in name order, which is plan order), then
# backs the same stream up with restic and with borg into local repositories, in the same run, and
# prints one JSON object: stored bytes vs the corpus's pixel bound, bytes sent, and the wall times
# (twin_seconds: the uploads; accounts are created before the clock starts, as restic init and borg
# init run before restic's and borg's). Borg runs `borg create` with repokey encryption (AES-CTR,
# HMAC-SHA256 chunk IDs) and its default lz4 compression.
#
# Usage: python3 ../shared/bench/make_corpus.py DIR > DIR.json && mv DIR.json DIR/corpus.json
#        bench/upload-stream.sh DIR
# Needs: restic and borgbackup (Debian packages). Not run by CI.
# ROUNDS=N repeats both sides N times, alternating (twin, restic, twin, …), each round from empty
# storage, and reports the median of each side's times and their ratio, with every round's times:
# this host's speed drifts by tens of percent within a minute, so one round of each says little.
# Also reports CPU seconds (user + system) of each side, twin's split into clients and server:
# they drift less than wall times and say where the work is.
# STORES=postgres-rgw runs the server on a fresh schema of $TWIN_PG_URL and a fresh bucket at
# $S3_ENDPOINT (tools/services.sh prints both) instead of SQLite and a folder, and also reports the
# bytes the bucket holds (summed by botocore); postgres-folder and sqlite-rgw mix the two, to tell
# which store costs what.
# TWIN=/path/to/twin uses that binary instead of building this checkout (to compare two builds);
# the first build of this checkout takes a while (its own scratch path, see below).
set -euo pipefail
# Keyrings are sealed under a passphrase; the benchmark gives it, at the cheapest scrypt cost allowed.
export TWIN_PASSPHRASE="${TWIN_PASSPHRASE:-twin-bench-passphrase}" TWIN_KEYRING_SCRYPT_N="${TWIN_KEYRING_SCRYPT_N:-16384}"
corpus=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
rounds="${ROUNDS:-1}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "upload-stream.sh: ROUNDS must be a positive integer" >&2; exit 2; }
work=$(mktemp -d)
server=""
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
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
export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench BORG_BASE_DIR="$work/borg-home"

# CPU seconds (user + system): of this shell's children that have ended (the clients, restic), and
# of a process still running (the server). Steadier than wall times on a host whose speed drifts,
# and they show which side does the work.
ticks=$(getconf CLK_TCK)
children_cpu() { local f; read -r -a f <"/proc/$$/stat"; echo "scale=3; (${f[15]} + ${f[16]}) / $ticks" | bc; }
process_cpu() { local f; read -r -a f <"/proc/$1/stat"; echo "scale=3; (${f[13]} + ${f[14]}) / $ticks" | bc; }

# One round of twin: a fresh server and fresh accounts; accounts are created before the clock
# starts, as `restic init` runs before restic's. Leaves the run's totals in $work/twin.json.
# Every round writes into fresh folders, and rounds are deleted only at exit: on ext4 without a
# journal, creating files right after deleting thousands (the previous round's blobs) makes inode
# allocation scan the recently deleted ones, which doubled the server's system time.
# With a second argument "keys", the server derives chunk keys through its key server
# (--oprf-key): the round's times go to keyed_seconds and its totals to $work/twin-keys.json.
twin_round() {
  local dir="$work/twin-$1${2:+-$2}" port start dir_user user keys=()
  [ "${2:-}" = keys ] && keys=(--oprf-key "$work/oprf.pem")
  mkdir -p "$dir/reports"
  port=$((20000 + RANDOM % 20000))
  local stores=(--data "$dir/data")
  bucket="twin-stream-$1-$RANDOM$RANDOM"
  case "${STORES:-sqlite}" in
    sqlite) ;;
    postgres-rgw) stores=(--metadata "$TWIN_PG_URL?schema=stream_$1_$RANDOM$RANDOM" --blobs "s3:$S3_ENDPOINT/$bucket" --create-bucket) ;;
    postgres-folder) stores=(--metadata "$TWIN_PG_URL?schema=stream_$1_$RANDOM$RANDOM" --blobs "file:$dir/blobs") ;;
    sqlite-rgw) stores=(--metadata "sqlite:$dir/metadata.sqlite" --blobs "s3:$S3_ENDPOINT/$bucket" --create-bucket) ;;
    *) echo "upload-stream.sh: STORES is sqlite, postgres-rgw, postgres-folder or sqlite-rgw" >&2; exit 2 ;;
  esac
  # SERVE_ARGS: more `twin serve` options for every round (e.g. --dedup-threshold random:5).
  # shellcheck disable=SC2086
  "$twin" serve "${stores[@]}" "${keys[@]}" ${SERVE_ARGS:-} --port "$port" --log-level warning &
  server=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  start=$(date +%s.%N)
  for dir_user in "$corpus"/stream/u*; do
    user=$(basename "$dir_user")
    TWIN_HOME="$dir/homes/$user" "$twin" account create "$user" --server "http://127.0.0.1:$port" >/dev/null
  done
  account_seconds=$(echo "$(date +%s.%N) - $start" | bc)
  local client_cpu server_cpu
  client_cpu=$(children_cpu)
  server_cpu=$(process_cpu "$server")
  sync  # no side pays for the previous side's dirty pages (twin serve's syncfs would flush them)
  start=$(date +%s.%N)
  for dir_user in "$corpus"/stream/u*; do
    user=${dir_user##*/}
    # UPLOAD_ARGS: more `twin upload` options for every user (e.g. --no-thumbnails).
    # shellcheck disable=SC2086
    TWIN_HOME="$dir/homes/$user" "$twin" upload "$dir_user" --attributes family ${UPLOAD_ARGS:-} --json >"$dir/reports/$user.json"
  done
  if [ "${2:-}" = keys ]; then
    keyed_seconds+=("$(echo "$(date +%s.%N) - $start" | bc)")
  else
    twin_seconds+=("$(echo "$(date +%s.%N) - $start" | bc)")
    twin_server_cpu+=("$(echo "$(process_cpu "$server") - $server_cpu" | bc)")
    twin_client_cpu+=("$(echo "$(children_cpu) - $client_cpu" | bc)")
  fi
  TWIN_HOME="$dir/homes/$user" "$twin" stats --json >"$dir/stats.json"
  bucket_bytes=0
  if [[ "${STORES:-sqlite}" = *rgw ]]; then
    bucket_bytes=$(python3 - "$bucket" <<'PY'
import os, sys, botocore.session
client = botocore.session.get_session().create_client(
    "s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
print(sum(o["Size"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[1]) for o in page.get("Contents", [])))
PY
)
  fi
  kill "$server" && wait "$server" 2>/dev/null || true
  server=""
  python3 - "$dir" "$account_seconds" "$bucket_bytes" >"$work/twin${2:+-$2}.json" <<'PY'
import glob, json, os, sys
reports = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(sys.argv[1], "reports", "*.json")))]
totals = {k: sum(r.get(k, 0) for r in reports)
          for k in ("sent_bytes", "logical_bytes", "deduplicated_bytes", "proof_bytes", "key_evaluations", "key_requests")}
totals["stored_bytes"] = json.load(open(os.path.join(sys.argv[1], "stats.json")))["stored_bytes"]
totals["account_setup_seconds"] = float(sys.argv[2])
totals["bucket_bytes"] = int(sys.argv[3])
print(json.dumps(totals))
PY
}

# One round of restic: a fresh local repository.
restic_round() {
  local start repository="$work/restic-$1"
  restic init --repository-version 1 -r "$repository" -q
  local cpu
  cpu=$(children_cpu)
  sync
  start=$(date +%s.%N)
  restic -r "$repository" backup -q "$corpus/stream" >/dev/null
  restic_seconds+=("$(echo "$(date +%s.%N) - $start" | bc)")
  restic_cpu+=("$(echo "$(children_cpu) - $cpu" | bc)")
  restic_bytes=$(du -sb "$repository" | cut -f1)
}

# One round of borg: a fresh local repository (borg init before the clock, as for restic).
borg_round() {
  local start repository="$work/borg-$1"
  borg init --encryption=repokey "$repository" 2>/dev/null
  local cpu
  cpu=$(children_cpu)
  sync
  start=$(date +%s.%N)
  (cd "$corpus" && borg create "$repository::stream" stream)
  borg_seconds+=("$(echo "$(date +%s.%N) - $start" | bc)")
  borg_cpu+=("$(echo "$(children_cpu) - $cpu" | bc)")
  borg_bytes=$(du -sb "$repository" | cut -f1)
}

# Both sides read the same files; read them once first so neither pays for a cold page cache.
find "$corpus/stream" -type f -exec cat {} + >/dev/null
twin_seconds=()
restic_seconds=()
twin_client_cpu=()
twin_server_cpu=()
restic_cpu=()
borg_seconds=()
borg_cpu=()
keyed_seconds=()
for round in $(seq "$rounds"); do
  # KEY_SERVER=compare: a round with the key server on beside each one with it off, in
  # alternating order, so a drift of the host's speed weighs on both.
  if [ "${KEY_SERVER:-off}" = compare ] && [ $((round % 2)) = 1 ]; then twin_round "$round" keys; fi
  twin_round "$round"
  if [ "${KEY_SERVER:-off}" = compare ] && [ $((round % 2)) = 0 ]; then twin_round "$round" keys; fi
  restic_round "$round"
  borg_round "$round"
done

pixel_bound=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pixel_bound_bytes"])' "$corpus/corpus.json" 2>/dev/null || echo 0)
python3 - "$work/twin.json" "$pixel_bound" "$restic_bytes" "${twin_seconds[*]}" "${restic_seconds[*]}" \
  "${twin_client_cpu[*]}" "${twin_server_cpu[*]}" "${restic_cpu[*]}" "${keyed_seconds[*]:-}" "$work/twin-keys.json" \
  "${borg_seconds[*]}" "${borg_cpu[*]}" "$borg_bytes" <<'PY'
import json, os, statistics, sys
t = json.load(open(sys.argv[1]))
pixel, restic_bytes = int(sys.argv[2]), int(sys.argv[3])
twin_times = [float(x) for x in sys.argv[4].split()]
restic_times = [float(x) for x in sys.argv[5].split()]
stored, sent, proof = t["stored_bytes"], t["sent_bytes"], t["proof_bytes"]
twin_median, restic_median = statistics.median(twin_times), statistics.median(restic_times)
client_cpu, server_cpu, restic_cpu = ([float(x) for x in arg.split()] for arg in sys.argv[6:9])

def key_server_figures():
    """With KEY_SERVER=compare: the stream with the key server on, against the rounds with it off."""
    keyed = [float(x) for x in sys.argv[9].split()]
    if not keyed:
        return {}
    k = json.load(open(sys.argv[10]))
    return {"key_server_seconds": round(statistics.median(keyed), 3),
            "key_server_seconds_rounds": [round(x, 3) for x in keyed],
            "key_server_over_off_time": round(statistics.median(keyed) / statistics.median(twin_times), 3),
            "key_server_stored_bytes": k["stored_bytes"], "key_server_sent_bytes": k["sent_bytes"],
            "key_server_deduplicated_bytes": k["deduplicated_bytes"],
            "key_server_evaluations": k["key_evaluations"], "key_server_requests": k["key_requests"]}
twin_cpu = [c + s for c, s in zip(client_cpu, server_cpu)]
borg_times = [float(x) for x in sys.argv[11].split()]
borg_cpu = [float(x) for x in sys.argv[12].split()]
print(json.dumps({
    "logical_bytes": t["logical_bytes"], "stored_bytes": stored, "pixel_bound_bytes": pixel,
    "stored_over_pixel_bound": round(stored / pixel, 4) if pixel and stored else None,
    "sent_bytes": sent, "proof_bytes": proof, "deduplicated_bytes": t["deduplicated_bytes"],
    # Stored bytes read 0 when the server keeps its totals coarse (--dedup-threshold).
    "sent_over_stored": round(sent / stored, 4) if stored else None,
    "sent_minus_proof_over_stored": round((sent - proof) / stored, 4) if stored else None,
    "rounds": len(twin_times),
    "twin_seconds": round(twin_median, 3), "restic_seconds": round(restic_median, 3),
    "twin_over_restic_time": round(twin_median / restic_median, 3),
    "borg_seconds": round(statistics.median(borg_times), 3),
    "twin_over_borg_time": round(twin_median / statistics.median(borg_times), 3),
    "borg_seconds_rounds": [round(x, 3) for x in borg_times],
    "borg_repository_bytes": int(sys.argv[13]),
    "borg_cpu_seconds": round(statistics.median(borg_cpu), 2),
    "twin_seconds_rounds": [round(x, 3) for x in twin_times],
    "restic_seconds_rounds": [round(x, 3) for x in restic_times],
    "account_setup_seconds": round(t["account_setup_seconds"], 3),
    "restic_repository_bytes": restic_bytes,
    "stores": os.environ.get("STORES", "sqlite"),
    "bucket_bytes": t["bucket_bytes"] or None,
    "bucket_over_pixel_bound": round(t["bucket_bytes"] / pixel, 4) if pixel and t["bucket_bytes"] else None,
    # CPU seconds (user + system), medians over the rounds.
    "twin_client_cpu_seconds": round(statistics.median(client_cpu), 2),
    "twin_server_cpu_seconds": round(statistics.median(server_cpu), 2),
    "twin_cpu_seconds": round(statistics.median(twin_cpu), 2),
    "restic_cpu_seconds": round(statistics.median(restic_cpu), 2),
    "twin_over_restic_cpu": round(statistics.median(twin_cpu) / statistics.median(restic_cpu), 3),
    **key_server_figures(),
}, sort_keys=True))
PY
