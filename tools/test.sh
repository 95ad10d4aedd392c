#!/usr/bin/env bash
# The test suite, as README's test command runs it: installs what it needs (Debian packages, PyPI
# tools), starts PostgreSQL and Ceph RGW (tools/services.sh), then runs, each failing the whole on
# any failure:
#   1. swift test (unit, conformance on every backend, end-to-end), and the server's end-to-end
#      suites again on memory stores and on PostgreSQL + RGW;
#   2. schemathesis against a live `twin serve` (all checks and phases, fixed seed, bounded examples);
#   3. every libFuzzer target from its committed seed corpus, fixed seed, 300,000 runs or FUZZ_SECONDS
#      (default 40) each;
#   4. bench/crash-test.py: 100 uploads while the server is SIGKILLed at least 20 times;
#   5. bench/two-nodes.py: two `twin serve` processes on one PostgreSQL and one RGW bucket.
# Prints "N passed, M failed" last (swift test's tests plus one per later check).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
# Keyrings are sealed under a passphrase; scripts give it here, at the cheapest scrypt cost allowed.
export TWIN_PASSPHRASE="${TWIN_PASSPHRASE:-twin-test-passphrase}" TWIN_KEYRING_SCRYPT_N="${TWIN_KEYRING_SCRYPT_N:-16384}"
fuzz_seconds="${FUZZ_SECONDS:-40}"

# The headers the build needs (zlib, zstd, SQLite, libjpeg, libpng), Debian's chromium and its
# driver for the gallery's browser test, and Python's packages for the API, crash and browser tests.
if [ ! -f /usr/include/zlib.h ] || [ ! -f /usr/include/zstd.h ] || [ ! -f /usr/include/sqlite3.h ] \
   || [ ! -f /usr/include/jpeglib.h ] || [ ! -f /usr/include/png.h ] || ! command -v chromedriver >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zlib1g-dev libzstd-dev libsqlite3-dev \
    libjpeg-dev libpng-dev chromium chromium-driver >/dev/null
fi
if ! python3 -c "import schemathesis, PIL, selenium" 2>/dev/null; then
  python3 -m pip --version >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null; }
  # A distribution's own Python refuses installs into it (PEP 668) unless told it may.
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==4.32.5" pillow selenium 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "schemathesis==4.32.5" pillow selenium
fi
# Schemathesis's command from the interpreter's own scripts folder: a version manager's shims may
# not list a command installed a moment ago.
st="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/st"
[ -x "$st" ] || st=st

passed=0
failed=0
# The services the storage tests and the two-node test use; a missing one fails the run.
services_env=$(mktemp)
if bash tools/services.sh "$services_env" >/dev/null; then
  set -a; . "$services_env"; set +a
else
  echo "== services (PostgreSQL, Ceph RGW): FAILED to start"; failed=$((failed + 1))
fi
trap 'bash tools/services.sh stop' EXIT
check() {  # NAME COMMAND...: runs one check, counts it, keeps its output.
  local name=$1; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); echo "== $name: passed"; else failed=$((failed + 1)); echo "== $name: FAILED"; fi
}

# 1. swift test, its progress lines left out; its own counts join ours.
log=$(mktemp)
swift test >"$log.raw" 2>&1
swift_status=$?
sed 's/\x1b\[[0-9;]*m//g' "$log.raw" >"$log"
grep -vE '^(􀟈|◇|↳)|started\.$|^\[[0-9]+/[0-9]+\]|Executed 0 tests|^Test Suite|^Test Case' "$log"
total=$(grep -oE 'Test run with [0-9]+ tests' "$log" | grep -oE '[0-9]+' | tail -1)
swift_failed=$(grep -cE '^✘ Test "[^"]*"( with [0-9]+ test cases?)? failed' "$log" || true)
if [ -n "$total" ]; then
  passed=$((passed + total - swift_failed)); failed=$((failed + swift_failed))
fi
if [ "$swift_status" -ne 0 ] && [ "${swift_failed:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
# The server's end-to-end suites again on the other store combinations (the run above used SQLite
# and a blob folder): memory, and PostgreSQL with Ceph RGW.
for storage in memory postgres-rgw; do
  check "server end-to-end suites on $storage" bash -c \
    "TWIN_TEST_STORAGE=$storage swift test --skip-build --filter TwinServerTests 2>&1 | grep -E '^(✘|✔ Test run|error:)' ; exit \${PIPESTATUS[0]}"
done
twin=.build/debug/twin
[ -x "$twin" ] || swift build --product twin >/dev/null

# 2. The API document against the live server.
api_check() {
  local data home port token status
  data=$(mktemp -d); home=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$twin" serve --data "$data" --port "$port" --log-level error --oprf-key "$data/oprf.pem" &
  local server=$!
  python3 - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1); break
    except Exception:
        time.sleep(0.1)
PY
  TWIN_HOME="$home" "$twin" account create schemathesis --server "http://127.0.0.1:$port" >/dev/null || { kill $server; return 1; }
  token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$home/token.json")
  timeout 900 "$st" --config-file .ci/schemathesis.toml run "http://127.0.0.1:$port/openapi.yaml" --checks all \
    -H "Authorization: Bearer $token" --seed 1 --max-examples 30 --continue-on-failure --no-color | tail -25
  status=${PIPESTATUS[0]}
  kill $server; wait $server 2>/dev/null
  rm -rf "$data" "$home"
  return "$status"
}
check "schemathesis (all checks, all phases, seed 1)" api_check

# 2b. Generated code is what its generators write (the field kernels and the lazy-reduction products).
generated_check() {
  python3 tools/generate_fp_mulx.py >/dev/null && python3 tools/generate_fp_wide.py >/dev/null \
    && python3 tools/generate_group_law.py >/dev/null \
    && git diff --exit-code -- Sources/CFpKernel/FpKernel.S Sources/BLS12381/Field/FpWide.swift \
      Sources/BLS12381/Curve/G1Group.swift Sources/BLS12381/Curve/G2Group.swift
}
check "generated field and group-law code matches tools/generate_*.py" generated_check
# The curve and KP-ABE suites again on the portable Swift field path (the run above took the mulx
# kernels wherever the CPU has BMI2 and ADX).
check "BLS12-381 and KP-ABE suites on the portable field path" \
  bash -c "TWIN_FP_KERNEL=portable swift test --skip-build --filter 'BLS12381Tests|KPABETests' 2>&1 | grep -E '^(✘|✔ Test run|error:)'; exit \${PIPESTATUS[0]}"

# 3. Fuzzing: every decoder of untrusted bytes.
check "libFuzzer targets (${fuzz_seconds}s each)" bash Fuzz/run.sh "$fuzz_seconds"

# 4. SIGKILL during uploads.
check "crash test (100 uploads, 20 kills)" python3 bench/crash-test.py "$twin" --uploads 100 --kills 20 --parallel 8

# 5. The gallery in Debian's chromium (selenium): thumbnails, full image, download, sharing,
# refusals; its screenshots are the README's.
check "gallery in chromium" python3 tools/gallery-test.py "$twin" docs/screenshots

# 6. The README's Quickstart, as written.
check "README Quickstart" bash tools/quickstart-test.sh "$twin"

# 7. Two servers on one PostgreSQL database and one RGW bucket.
corpus=$(mktemp -d)
if python3 ../shared/bench/make_corpus.py "$corpus/c" --uploads 120 --users 6 >"$corpus/corpus.json"; then
  check "two nodes on PostgreSQL + RGW" python3 bench/two-nodes.py "$twin" "$corpus/c" "$corpus/corpus.json"
else
  echo "== corpus for the two-node test: FAILED"; failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
