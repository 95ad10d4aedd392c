#!/usr/bin/env bash
# The README's main job on a fresh machine: installs the system libraries the build links when
# their headers are missing (zlib, zstd, SQLite, libjpeg, libpng: Debian packages, with sudo when
# not root), then builds and starts `twin serve` on its embedded defaults (SQLite and a blob folder
# in ./twin-data, 127.0.0.1:8080). Arguments go to `twin serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
missing=()
for pair in zlib.h:zlib1g-dev zstd.h:libzstd-dev sqlite3.h:libsqlite3-dev jpeglib.h:libjpeg-dev png.h:libpng-dev; do
  [ -f "/usr/include/${pair%%:*}" ] || missing+=("${pair##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "serve.sh: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
exec swift run -c release twin serve "$@"
