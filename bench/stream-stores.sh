#!/usr/bin/env bash
# The upload stream through each store combination, in one run: bench/upload-stream.sh with
# SQLite + a folder, then with PostgreSQL + Ceph RGW (STORES=postgres-rgw), each beside restic
# backing the same stream up to a local folder. Prints one JSON object per combination.
# Usage: bench/stream-stores.sh CORPUS_DIR   (ROUNDS and TWIN pass through; needs tools/services.sh's
# environment: TWIN_PG_URL, S3_ENDPOINT, AWS_*)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for stores in sqlite postgres-rgw; do
  STORES=$stores bash "$here/upload-stream.sh" "$1"
done
