#!/usr/bin/env bash
# Configure and build into ${BUILD_DIR:-build}. Used by test.sh and demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
