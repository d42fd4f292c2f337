#!/usr/bin/env bash
# Build with AddressSanitizer and UndefinedBehaviorSanitizer (which abort on
# the first error, failing the test) and run the test suite again: all but
# the tests labelled `source`, which do not run elfprune and so would only
# repeat what scripts/test.sh ran. Arguments go to ctest.
# The build is clang's, shared with the libFuzzer targets (scripts/build.sh
# --sanitize; CI runs scripts/fuzz.sh in it next). The end-to-end tests reuse
# the Debian roots and npm tree that scripts/test.sh cached outside the clone
# (tests/e2e/CMakeLists.txt, ELFPRUNE_TEST_CACHE).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh clang libclang-rt-14-dev
build_dir=${SANITIZE_BUILD_DIR:-build-sanitize}
BUILD_DIR=$build_dir ./scripts/build.sh --sanitize
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# CTest's cost data, kept outside the clone as scripts/test.sh does.
costs=${ELFPRUNE_TEST_CACHE:-/var/cache/elfprune-tests}/ctest-costs/$(basename "$build_dir").txt
data=$build_dir/Testing/Temporary/CTestCostData.txt
if [[ ! -f $data && -f $costs ]]; then mkdir -p "$(dirname "$data")" && cp "$costs" "$data"; fi
status=0
(cd "$build_dir" && ctest --output-on-failure -j "$(nproc)" -LE source "$@") || status=$?
if [[ -f $data ]] && mkdir -p "$(dirname "$costs")" 2>/dev/null; then
  { cp "$data" "$costs.$$" && mv "$costs.$$" "$costs"; } 2>/dev/null || rm -f "$costs.$$"
fi
exit "$status"
