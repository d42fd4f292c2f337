#!/usr/bin/env bash
# Install what is needed, build, and run every test (unit and end-to-end)
# through CTest. Exits non-zero on any failure. Arguments go to ctest:
# `./scripts/test.sh -L unit` (README.md, "The inner loop").
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
build_dir=${BUILD_DIR:-build}

# CTest's cost data (each test's average time) lets `ctest -j` start the
# longest tests first. A fresh clone (CI) has none, so a copy is kept
# outside the clone, beside the cached test inputs, per build directory
# name; test-sanitized.sh does the same.
costs=${ELFPRUNE_TEST_CACHE:-/var/cache/elfprune-tests}/ctest-costs/$(basename "$build_dir").txt
data=$build_dir/Testing/Temporary/CTestCostData.txt
if [[ ! -f $data && -f $costs ]]; then mkdir -p "$(dirname "$data")" && cp "$costs" "$data"; fi
status=0
(cd "$build_dir" && ctest --output-on-failure -j "$(nproc)" "$@") || status=$?
if [[ -f $data ]] && mkdir -p "$(dirname "$costs")" 2>/dev/null; then
  { cp "$data" "$costs.$$" && mv "$costs.$$" "$costs"; } 2>/dev/null || rm -f "$costs.$$"
fi
exit "$status"
