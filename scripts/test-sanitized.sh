#!/usr/bin/env bash
# Build with AddressSanitizer and UndefinedBehaviorSanitizer (which abort on
# the first error, failing the test) and run the whole test suite again.
# Run after scripts/test.sh: the end-to-end tests reuse the Debian root and
# npm tree that run cached in its build directory instead of making them again.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
main_build=${BUILD_DIR:-build}
build_dir=${SANITIZE_BUILD_DIR:-build-sanitize}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DELFPRUNE_SANITIZE=ON >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
if [[ -f "$main_build/debian-root/.elfprune-debootstrap-complete" ]]; then
  export ELFPRUNE_DEBIAN_ROOT=$PWD/$main_build/debian-root
fi
if [[ -f "$main_build/npm-lambda-ric/pristine.stamp" ]]; then
  export ELFPRUNE_NPM_TREE=$PWD/$main_build/npm-lambda-ric/pristine
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" "$@"
