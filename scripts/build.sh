#!/usr/bin/env bash
# Configure and build into ${BUILD_DIR:-build}. Used by test.sh and demo.sh.
#
# `build.sh --sanitize [TARGET...]` makes the instrumented build instead,
# the one test-sanitized.sh and fuzz.sh share (CI compiles it once for
# both): clang, AddressSanitizer and UndefinedBehaviorSanitizer, the tests
# and the libFuzzer targets (-DELFPRUNE_SANITIZE=ON -DELFPRUNE_FUZZ=ON);
# TARGETs default to everything. It needs clang and its libFuzzer runtime
# (`scripts/setup.sh clang libclang-rt-14-dev`).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
configure=(-DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}")
targets=()
if [[ ${1:-} == --sanitize ]]; then
  shift
  configure=(-DCMAKE_BUILD_TYPE=RelWithDebInfo
             -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
             -DELFPRUNE_SANITIZE=ON -DELFPRUNE_FUZZ=ON -DELFPRUNE_BUILD_TESTS=ON)
  targets=("$@")
  # A directory configured with another compiler (an older gcc
  # build-sanitize/) cannot switch in place: configure it afresh.
  cache=$build_dir/CMakeCache.txt
  if [[ -f $cache ]] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++$' "$cache"; then
    rm -rf "$cache" "$build_dir/CMakeFiles"
  fi
fi
cmake -S . -B "$build_dir" "${configure[@]}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)" ${targets[@]:+--target "${targets[@]}"}
