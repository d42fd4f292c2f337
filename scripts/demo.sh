#!/usr/bin/env bash
# Install what is needed, build, and show elfprune on a built-in example: a
# small root (scripts/demo-root.sh) pruned for one entry, the report, the
# pruned program running chrooted, and `why` for a kept and a removed file.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh >/dev/null
build_dir=${BUILD_DIR:-build}
elfprune=$build_dir/src/elfprune
demo=$build_dir/demo
rm -rf "$demo"
./scripts/demo-root.sh "$demo/root"

echo "== elfprune deps --root $demo/root /usr/bin/hello"
"$elfprune" deps --root "$demo/root" /usr/bin/hello
echo
echo "== elfprune prune $demo/root --entry /usr/bin/hello-wrapper --out $demo/out"
"$elfprune" prune "$demo/root" --entry /usr/bin/hello-wrapper --out "$demo/out" \
  --report "$demo/report.json"
echo
echo "== elfprune why ... /usr/share/hello/greeting.txt"
"$elfprune" why "$demo/root" /usr/share/hello/greeting.txt --entry /usr/bin/hello-wrapper
echo "== elfprune why ... /usr/share/doc/hello/README"
"$elfprune" why "$demo/root" /usr/share/doc/hello/README --entry /usr/bin/hello-wrapper
if [[ $(id -u) -eq 0 ]]; then
  echo
  echo "== the pruned tree still runs: chroot $demo/out /usr/bin/hello-wrapper"
  env -i PATH=/usr/bin:/bin /usr/sbin/chroot "$demo/out" /usr/bin/hello-wrapper
fi
echo
echo "JSON report: $demo/report.json"
