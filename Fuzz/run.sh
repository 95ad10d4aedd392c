#!/usr/bin/env bash
# Builds the libFuzzer binary (ASan + libFuzzer, its own scratch folder) and runs each target from
# its committed seed corpus (Fuzz/Corpus/TARGET) for RUNS executions (default 300,000) or SECONDS
# (default 30), whichever ends first; new inputs go to a copy of the corpus. The seed is fixed
# (FUZZ_SEED, default 1), so a run explores the same inputs in the same order: CI does not turn red
# by chance, and a failure replays. A crash or a failed round-trip check stops with the input under
# Fuzz/crashes/. Prints one line per target.  Usage: Fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
runs="${RUNS:-300000}"
seed="${FUZZ_SEED:-1}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(policy abe-key abe-ciphertext abe-wrapped-key abe-parameters g1 g2 gt manifest chunk-bundle ownership-proof chunker json-requests)
# The crash handler would hold the pipe libFuzzer reads, and the job would hang.
export SWIFT_BACKTRACE=enable=no
swift build --sanitize=fuzzer --sanitize=address --scratch-path .build-fuzz --product TwinFuzz 2>&1 | grep -E "error|warning: unre|Compiling TwinFuzz|Build complete" || true
binary=.build-fuzz/debug/TwinFuzz
[ -x "$binary" ] || { echo "fuzz build failed" >&2; exit 1; }
mkdir -p crashes
status=0
for target in "${targets[@]}"; do
  work=$(mktemp -d)
  [ -d "Corpus/$target" ] && cp -r "Corpus/$target/." "$work/"
  log=$(mktemp)
  if ! TWIN_FUZZ_TARGET="$target" "$binary" "$work" -seed="$seed" -runs="$runs" -max_total_time="$seconds" -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
      -artifact_prefix="crashes/$target-" -print_final_stats=1 >"$log" 2>&1; then
    echo "$target: FAILED"; tail -40 "$log"; status=1
  fi
  executed=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  echo "$target: $executed executions (at most $runs in ${seconds}s), corpus $(ls "$work" | wc -l) inputs"
  rm -rf "$work" "$log"
done
exit $status
