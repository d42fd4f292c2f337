#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) into
# build-fuzz/, generate their seed corpora from the fixture roots, replay the
# seeds and the checked-in regression inputs (fixtures/fuzz-regressions/),
# then fuzz each target for FUZZ_SECONDS (default 30) seconds, FUZZ_JOBS
# targets at a time (default: one per CPU; each fuzzer is one process on
# one core, so each target still gets its full FUZZ_SECONDS of a core).
# Exits non-zero on any crash, leak, timeout or out-of-memory, naming the
# target and the reproducer. FUZZ_TARGETS="elf ldcache" picks targets.
# The build is scripts/build.sh --sanitize, the same as test-sanitized.sh's:
# CI passes FUZZ_BUILD_DIR=build-sanitize and builds nothing again.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's clang and its libFuzzer runtime, besides the usual build tools.
./scripts/setup.sh clang libclang-rt-14-dev

build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-$(nproc)}
targets=(${FUZZ_TARGETS:-elf ldcache ldconf dlopen_note shebang pathrefs rewrite image_config layer})
BUILD_DIR=$build_dir ./scripts/build.sh --sanitize fuzz_targets fuzz_seeds

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# -rss_limit_mb: an input that makes a parser allocate without bound is a
# finding, not a reason to take the machine down. -timeout: no single input
# may take seconds.
limits=(-rss_limit_mb=2048 -timeout=10)

# fuzz_one TARGET: replay, then fuzz; the outcome goes to its .status file.
fuzz_one() {
  local t=$1
  local exe=$build_dir/tests/fuzz/${t}_fuzz
  local seeds=$build_dir/fuzz-seeds/$t
  local regressions=fixtures/fuzz-regressions/$t
  local corpus=$build_dir/fuzz-corpus/$t      # what fuzzing finds, kept between runs
  local artifacts=$build_dir/fuzz-artifacts/$t/
  local log=$build_dir/fuzz-logs/$t.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  local replay=("$seeds")
  if [[ -d $regressions ]]; then replay+=("$regressions"); fi
  local dict=()
  if [[ -f tests/fuzz/$t.dict ]]; then dict=(-dict="tests/fuzz/$t.dict"); fi

  echo "fuzz: $t: replaying seeds and regression inputs, then fuzzing for ${seconds} s"
  if "$exe" "${limits[@]}" "${dict[@]}" -artifact_prefix="$artifacts" -runs=0 \
       "${replay[@]}" >"$log" 2>&1 &&
     "$exe" "${limits[@]}" "${dict[@]}" -artifact_prefix="$artifacts" \
       -max_total_time="$seconds" -print_final_stats=1 \
       "$corpus" "${replay[@]}" >>"$log" 2>&1; then
    echo ok >"$log.status"
  else
    echo failed >"$log.status"
  fi
}

for t in "${targets[@]}"; do
  rm -f "$build_dir/fuzz-logs/$t.log.status"
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  fuzz_one "$t" &
done
wait

failed=()
for t in "${targets[@]}"; do
  log=$build_dir/fuzz-logs/$t.log
  if [[ $(cat "$log.status" 2>/dev/null) != ok ]]; then
    failed+=("$t")
    echo "fuzz: $t: FAILED (log: $log)" >&2
    grep -E '^(SUMMARY|==[0-9]+== ?ERROR|fuzz invariant)' "$log" | head -5 >&2 || true
    grep -o 'Test unit written to .*' "$log" | sed "s/^/fuzz: $t: reproducer: /" >&2 || true
  else
    grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$log" |
      sed "s/^/fuzz: $t: /" || true
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: failed: ${failed[*]}. Reproduce with: $build_dir/tests/fuzz/<target>_fuzz FILE;" \
    "minimize with -minimize_crash=1 -runs=10000 FILE and add it under fixtures/fuzz-regressions/<target>/" >&2
  exit 1
fi
echo "fuzz: every target replayed its seeds and regressions and ran ${seconds} s without a finding"
