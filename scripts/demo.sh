#!/usr/bin/env bash
# Install what is needed, build, and show elfprune on a built-in example:
# the fixture roots built from tiny C sources (RPATH vs RUNPATH, $ORIGIN
# through symlinks, ld.so.cache, glibc-hwcaps, musl...), resolved exactly as
# the real loader would, then checked against the real loader.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh >/dev/null
build_dir=${BUILD_DIR:-build}
cmake --build "$build_dir" --target fixtures >/dev/null
elfprune=$build_dir/src/elfprune
fixtures=$build_dir/fixtures

# The files of each example root, from the index the fixture build writes.
list_files() {
  python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["roots"]:
    if r["name"] == sys.argv[2]: print("\n".join(f["file"] for f in r["files"]))' \
    "$fixtures/index.json" "$1"
}

for root in origin rpath musl; do
  mapfile -t files < <(list_files "$root")
  echo "== elfprune deps --root $fixtures/$root ${files[*]}"
  # Exit 1 means a library is missing: some examples show exactly that.
  "$elfprune" deps --root "$fixtures/$root" "${files[@]}" || true
  echo
done

echo "== the same, compared with the real loader run chrooted in each root"
python3 tests/e2e/fixtures_agree.py --elfprune "$elfprune" --index "$fixtures/index.json"
