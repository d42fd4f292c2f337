#!/usr/bin/env bash
# Build one elfprune binary that runs anywhere x86-64 Linux runs: in a
# container build stage (FROM debian, alpine, ubi, ... or scratch), in a
# chroot holding nothing else, without installing anything there.
#
#   ./scripts/build-portable.sh        # last line of stdout: the binary's absolute path
#   ./scripts/build-portable.sh DEST   # the same binary copied to DEST; prints DEST's path
#
# The copy to DEST is made under the build's lock: a test gets a file that a
# concurrent run of this script (another test, `ctest -j`) cannot relink
# under it.
#
# Configured with -DELFPRUNE_PORTABLE=ON (top-level CMakeLists.txt) into
# ${PORTABLE_BUILD_DIR:-build-portable}, without the tests:
# - glibc fully static (-static): no PT_INTERP, no PT_DYNAMIC, nothing loaded
#   at run time. Static glibc is sound only for code that never makes glibc
#   dlopen() behind its back: NSS (getpwnam, getgrgid, getaddrinfo, ...),
#   iconv/gconv, dlopen itself. elfprune keeps owners as numbers and never
#   looks a name up, and nothing it links (LIEF, mbedTLS, libstdc++) does
#   either; the link below fails if that ever changes, because the linker
#   warns for each such function ("Using 'getpwnam' in statically linked
#   applications requires at runtime the shared libraries ...") and such a
#   warning stops this script. libc.a's gconv and dlopen code is still
#   linked in (libstdc++'s codecvt and iconv-based facets refer to it), but
#   it loads modules only for a locale's non-built-in character set, and
#   elfprune never calls setlocale(), so it stays in the "C" locale;
# - libstdc++ and libgcc static (implied by -static);
# - LIEF from Debian's libLIEF.a (0.9.0) and the mbedTLS archives it needs
#   (libmbedtls-dev), fmt header-only (Debian ships no libfmt.a); CLI11 and
#   nlohmann-json are header-only anyway.
# Debian's toolchain builds position-dependent static executables (not
# static-pie), so `file` says "statically linked".
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh libmbedtls-dev >&2

build_dir=${PORTABLE_BUILD_DIR:-build-portable}
# Tests run this (ctest -j runs them side by side): one build at a time.
mkdir -p "$build_dir"
exec 9>"$build_dir/.lock"
flock 9
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DELFPRUNE_PORTABLE=ON \
  -DELFPRUNE_BUILD_TESTS=OFF >&2

# Link afresh every time, so that the link's warnings are always seen.
binary=$(realpath -m "$build_dir/src/elfprune")
rm -f "$binary"
log="$build_dir/portable-build.log"
if ! cmake --build "$build_dir" -j "$(nproc)" --target elfprune >"$log" 2>&1; then
  cat "$log" >&2
  echo "build-portable: the build failed (log: $log)" >&2
  exit 1
fi
cat "$log" >&2
if grep -i 'warning:.*statically linked' "$log" >&2; then
  echo "build-portable: the static link warned (above): the binary would need glibc's" \
       "shared libraries at run time, so it is not portable" >&2
  exit 1
fi

# What makes it portable, checked on the result rather than assumed.
headers=$(readelf --program-headers --wide "$binary")
if grep -q -E '^\s*(INTERP|DYNAMIC)\s' <<<"$headers"; then
  echo "build-portable: $binary has a PT_INTERP or PT_DYNAMIC: it is not fully static" >&2
  exit 1
fi
description=$(file -b "$binary")
if [[ $description != *"statically linked"* ]]; then
  echo "build-portable: file(1) says: $description" >&2
  exit 1
fi
echo "build-portable: $description" >&2
echo "build-portable: $(stat -c %s "$binary") bytes" >&2
if (($# > 0)); then
  dest=$(realpath -m "$1")
  mkdir -p "$(dirname "$dest")"
  cp "$binary" "$dest.tmp.$$"
  chmod 0755 "$dest.tmp.$$"
  mv -f "$dest.tmp.$$" "$dest"
  binary=$dest
fi
echo "$binary"
