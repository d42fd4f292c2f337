#!/usr/bin/env bash
# Build with AddressSanitizer and UndefinedBehaviorSanitizer (which abort on
# the first error, failing the test) and run the whole test suite again.
# The end-to-end tests reuse the Debian roots and npm tree that scripts/test.sh
# cached outside the clone (tests/e2e/CMakeLists.txt, ELFPRUNE_TEST_CACHE).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
build_dir=${SANITIZE_BUILD_DIR:-build-sanitize}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DELFPRUNE_SANITIZE=ON >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" "$@"
