#!/usr/bin/env bash
# Runs the README's Quickstart block as written, against a fresh `twin serve` on 127.0.0.1:8080
# (the address the README uses), from the repository root. Two substitutions only: the twin binary
# given here for `.build/release/twin` (the tests build debug), and a temporary folder for /tmp/
# in the keyring paths (so a run neither meets nor leaves keyrings in /tmp). Any failing line fails.
#
# Usage: tools/quickstart-test.sh TWIN
set -euo pipefail
cd "$(dirname "$0")/.."
twin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d)
server=""
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
block=$(awk '/^## Quickstart/{found=1} found && /^```sh$/{inside=1; next} inside && /^```$/{exit} inside{print}' README.md)
[ -n "$block" ] || { echo "quickstart-test.sh: no Quickstart block in README.md" >&2; exit 1; }
# Keyring folders first: the binary's own path may lie under /tmp/ too (a CI clone).
block=${block//\/tmp\//$work\/}
block=${block//.build\/release\/twin/$twin}
"$twin" serve --data "$work/data" --port 8080 --log-level warning &
server=$!
for _ in $(seq 100); do curl -fs http://127.0.0.1:8080/healthz >/dev/null && break; sleep 0.1; done
bash -euo pipefail -c "$block"
echo "quickstart: every command ran"
