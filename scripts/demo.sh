#!/usr/bin/env bash
# The demo that shows the job: a realistic Debian 12 root with Node.js, what a
# build leaks into an image (python3, headers, docs, locales) and a Node app
# at /var/task whose node_modules holds its devDependencies too; elfprune
# prunes it for `node /var/task/index.js`, the app still runs chrooted in the
# result, and `why` explains a kept and a removed path.
#
# The root is assembled without debootstrap: `apt-get download` of nodejs's
# run-time dependency closure (apt-cache depends) plus python3, a few -dev
# packages and dash, unpacked with dpkg-deb into build/demo-app/root with
# Debian 12's merged /usr and a dpkg database. Downloads and the app's
# `npm install` are cached under build/demo-app/cache, keyed by the package
# versions and by package.json, so a second run reuses them.
set -euo pipefail
start=$SECONDS
cd "$(dirname "$0")/.."
repo=$PWD

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
die() { echo "demo: error: $*" >&2; exit 1; }

echo "== setup and build"
./scripts/setup.sh
./scripts/build.sh >/dev/null
build_dir=${BUILD_DIR:-build}
elfprune=$repo/$build_dir/src/elfprune
[[ -x $elfprune ]] || die "$elfprune was not built"
demo=$repo/$build_dir/demo-app
cache=$demo/cache
root=$demo/root
pruned=$demo/pruned
mkdir -p "$cache"
log=$demo/log
rm -rf "$log" && mkdir -p "$log"

# --- 1. the package set: nodejs's closure, plus what a build leaks in -----
arch=$(dpkg --print-architecture)
# The newest version of a package that apt can download (apt-cache madison
# lists only versions from a repository, newest first): the machine's own
# nodejs may come from elsewhere and not be downloadable.
newest() { apt-cache madison "$@" 2>/dev/null | awk -F' [|] ' '{gsub(/ /,"",$1); gsub(/ /,"",$2); if (!seen[$1]++) print $1 "=" $2}'; }
node_pin=$(newest nodejs | head -n 1)
[[ -n $node_pin ]] || die "apt knows no downloadable nodejs (run apt-get update?)"
extras=(python3 libssl-dev libc6-dev linux-libc-dev zlib1g-dev dash)
depends=(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts
         --no-breaks --no-replaces --no-enhances)
mapfile -t names < <("${depends[@]}" "$node_pin" "${extras[@]}" 2>"$log/apt-cache.err" |
                     grep -v '^ ' | grep -v '^<' | sed 's/:any$//' | sort -u) ||
  die "apt-cache depends failed: $(tail -n 3 "$log/apt-cache.err")"
# Keep only real packages with a downloadable version (virtual ones and
# packages of another architecture drop out here).
mapfile -t pins < <(echo "$node_pin"; newest "${names[@]}" | grep -v '^nodejs=' | sort)
((${#pins[@]} > 20)) || die "the package closure is suspiciously small: ${pins[*]}"

key=$(printf '%s\n' "$arch" "${pins[@]}" | sha256sum | cut -c1-12)
debs=$cache/debs-$key
if [[ -f $debs/.complete ]]; then
  echo "== ${#pins[@]} packages (nodejs ${node_pin#nodejs=}): reusing the downloads in ${debs#$repo/}"
else
  echo "== downloading ${#pins[@]} packages (nodejs ${node_pin#nodejs=} and its closure, python3, headers)"
  rm -rf "$debs.tmp" && mkdir -p "$debs.tmp" && chmod 755 "$debs.tmp"
  if ! (cd "$debs.tmp" && apt-get download -q "${pins[@]}" >"$log/download.log" 2>&1); then
    # Say which package failed: try them one by one.
    failed=()
    for p in "${pins[@]}"; do
      (cd "$debs.tmp" && apt-get download -q "$p" >>"$log/download-one.log" 2>&1) || failed+=("$p")
    done
    ((${#failed[@]} == 0)) || die "apt-get download failed for: ${failed[*]} (see ${log#$repo/}/download-one.log)"
  fi
  mv "$debs.tmp" "$debs"
  touch "$debs/.complete"
fi
debfiles=("$debs"/*.deb)
((${#debfiles[@]} == ${#pins[@]})) || die "expected ${#pins[@]} .deb files in $debs, found ${#debfiles[@]}"

# --- 2. the root: unpacked, merged /usr, a dpkg database, ld.so.cache ------
echo "== assembling ${root#$repo/}"
rm -rf "$root" "$pruned"
mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{etc/ld.so.conf.d,tmp,proc,sys,dev,var/lib/dpkg/info}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done
chmod 1777 "$root/tmp"
status=$root/var/lib/dpkg/status
: >"$status"
for deb in "${debfiles[@]}"; do
  pkg=$(dpkg-deb -f "$deb" Package)
  ma=$(dpkg-deb -f "$deb" Multi-Arch)
  list=$root/var/lib/dpkg/info/$pkg.list
  [[ $ma == same ]] && list=$root/var/lib/dpkg/info/$pkg:$(dpkg-deb -f "$deb" Architecture).list
  # tar, not dpkg-deb -x: --keep-directory-symlink keeps /bin -> usr/bin.
  dpkg-deb --fsys-tarfile "$deb" |
    tar -x -v --keep-directory-symlink --no-same-owner -C "$root" 2>>"$log/unpack.err" |
    sed -e 's|^\./$|/.|' -e 's|^\.||' -e 's|/$||' >"$list" ||
    die "unpacking $(basename "$deb") failed: $(tail -n 3 "$log/unpack.err")"
  { dpkg-deb -f "$deb" | awk '{print} NR==1{print "Status: install ok installed"}'; echo; } >>"$status"
done
for d in bin sbin lib lib64; do
  [[ -L $root/$d ]] || die "/$d in the root is no longer a symlink to usr/$d"
done
[[ -e $root/etc/ld.so.conf ]] || echo 'include /etc/ld.so.conf.d/*.conf' >"$root/etc/ld.so.conf"
"${sudo_cmd[@]}" ldconfig -r "$root" || die "ldconfig -r $root failed"
[[ -e $root/bin/sh ]] || ln -s dash "$root/usr/bin/sh"
[[ -x $root/usr/bin/node && -x $root/usr/bin/python3 && -d $root/usr/include/openssl ]] ||
  die "the root lacks node, python3 or the OpenSSL headers"

# --- 3. the app at /var/task, `npm install` cached ---------------------------
package_json='{
  "name": "orders-handler",
  "version": "1.0.0",
  "private": true,
  "main": "index.js",
  "dependencies": { "uuid": "9.0.1", "lodash": "4.17.21", "date-fns": "3.6.0" },
  "devDependencies": { "typescript": "5.4.5", "eslint": "8.57.0", "@types/node": "20.12.7" }
}'
read -r -d '' index_js <<'JS' || true
const { v4, validate } = require('uuid');
const _ = require('lodash');
const { addDays, formatISO } = require('date-fns');
exports.handler = async (event) => ({
  id: validate(v4()),
  chunks: _.chunk(event.items, 2).length,
  next: formatISO(addDays(new Date(Date.UTC(2024, 1, 28, 12)), 1), { representation: 'date' }),
});
exports.handler({ items: [1, 2, 3, 4, 5] }).then(r => console.log('orders-handler:', JSON.stringify(r)));
JS
command -v npm >/dev/null || die "npm is missing (scripts/setup.sh installs it)"
app_key=$(printf '%s\n' "$package_json" "$(npm --version)" | sha256sum | cut -c1-12)
app=$cache/npm-$app_key
if [[ -f $app/.complete ]]; then
  echo "== the app: reusing the npm install in ${app#$repo/}"
else
  echo "== the app: npm install --no-audit --no-fund --ignore-scripts (once)"
  rm -rf "$app.tmp" && mkdir -p "$app.tmp/task"
  printf '%s\n' "$package_json" >"$app.tmp/task/package.json"
  (cd "$app.tmp/task" && npm install --no-audit --no-fund --ignore-scripts </dev/null \
     >"$log/npm.log" 2>&1) || die "npm install failed: $(tail -n 5 "$log/npm.log")"
  mv "$app.tmp" "$app"
  touch "$app/.complete"
fi
mkdir -p "$root/var"
cp -a "$app/task" "$root/var/task"
printf '%s\n' "$index_js" >"$root/var/task/index.js"

# --- 4. prune ----------------------------------------------------------------
entries=(--entry /usr/bin/node --entry /var/task/index.js)
echo
echo "== elfprune prune ${root#$repo/} ${entries[*]} --out ${pruned#$repo/}"
rc=0
"$elfprune" prune "$root" "${entries[@]}" --out "$pruned" --report "$demo/report.json" \
  >"$log/prune.txt" 2>"$log/prune.err" || rc=$?
# The report, each section cut to fit two screens (the whole one is in
# prune.txt and report.json).
awk -v full="${log#$repo/}/prune.txt" '
  /^[a-z]/ { sec = $0; n = 0; skip = 0
             limit = 1000
             if (sec ~ /^kept by package/) limit = 5
             if (sec ~ /^removed by package/) limit = 6
             if (sec ~ /npm packages/) limit = 5
             if (sec ~ /^largest/) limit = 5
             if (sec ~ /^(hints|kept whole|warnings)/) limit = 0 }
  /^(hints|kept whole|warnings)/ { hidden = hidden (hidden ? ", " : "") $0; next }
  /^verified/ && hidden { sub(/:$/, "", hidden); gsub(/:,/, ",", hidden)
                          printf "%s: in %s\n\n", hidden, full }
  /^  / && sec != "" { if (++n > limit) { skip++; next } }
  /^$/ && limit == 0 { next }
  /^$/ && skip { printf "  [%d more lines in %s]\n", skip, full; skip = 0 }
  { print }
  END { if (skip) printf "  [%d more lines in %s]\n", skip, full }' "$log/prune.txt"
((rc == 0)) || die "elfprune prune exited $rc: $(tail -n 5 "$log/prune.err")"

# --- 5. the pruned tree still runs the app -----------------------------------
echo
echo "== chroot ${pruned#$repo/} /usr/bin/node /var/task/index.js"
for d in proc sys dev; do [[ -e $pruned/$d ]] || mkdir "$pruned/$d"; done
"${sudo_cmd[@]}" python3 tests/e2e/chroot_run.py "$pruned" -- /usr/bin/node /var/task/index.js ||
  die "the app did not run in the pruned tree"
gone() { for p; do [[ -e $pruned/$p || -L $pruned/$p ]] && die "$p is still in the pruned tree"; done; true; }
gone /usr/bin/python3 /usr/lib/python3.11 /usr/include /var/task/node_modules/typescript \
  /var/task/node_modules/eslint
headers() { find "$1/usr/include" -name '*.h' 2>/dev/null | wc -l; }
echo "gone: python3 and its standard library, /usr/include ($(headers "$root") headers),"
echo "      typescript, eslint and every other devDependency"

# --- 6. why ------------------------------------------------------------------
for path in /var/task/node_modules/lodash/lodash.js /var/task/node_modules/typescript; do
  echo
  echo "== elfprune why ROOT $path ${entries[*]}"
  "$elfprune" why "$root" "$path" "${entries[@]}" >"$log/why.txt" 2>&1 ||
    die "elfprune why $path failed: $(tail -n 3 "$log/why.txt")"
  head -n 8 "$log/why.txt"
done

# --- 7. the same as a container image ----------------------------------------
# The original root as a one-layer OCI image made by umoci (cached, keyed by
# the packages and the app), with the app in its config; elfprune prunes it
# into a new image with the entries the config gives, and podman runs it
# where podman can.
image_note=
if command -v umoci >/dev/null 2>&1; then
  image_key=$(printf '%s\n' "$key" "$app_key" "$index_js" | sha256sum | cut -c1-12)
  image=$cache/image-$image_key
  if [[ ! -f $image/index.json ]]; then
    echo
    echo "== umoci: the root as an OCI image (once)"
    rm -rf "$image.tmp" "$demo/bundle"
    { umoci init --layout "$image.tmp" && umoci new --image "$image.tmp:demo" &&
      umoci unpack --image "$image.tmp:demo" "$demo/bundle" &&
      cp -a "$root/." "$demo/bundle/rootfs/" &&
      umoci repack --image "$image.tmp:demo" "$demo/bundle" &&
      umoci config --image "$image.tmp:demo" --config.entrypoint /usr/bin/node \
        --config.cmd /var/task/index.js --config.workingdir /var/task; } >"$log/umoci.log" 2>&1 ||
      die "umoci could not make the image: $(tail -n 3 "$log/umoci.log")"
    rm -rf "$demo/bundle"
    mv "$image.tmp" "$image"
  fi
  slim=$demo/image-slim
  rm -rf "$slim"
  echo
  echo "== elfprune prune oci:${image#$repo/}:demo --out oci:${slim#$repo/}:demo"
  "$elfprune" prune "oci:$image:demo" --out "oci:$slim:demo" >"$log/prune-image.txt" 2>&1 ||
    die "elfprune prune of the image failed: $(tail -n 5 "$log/prune-image.txt")"
  sed -n '/^image /,/^  image:/p' "$log/prune-image.txt" | grep -v '^                 '
  # podman names an oci: image after its path, and a name must be lower
  # case: a clone under `mktemp -d` is not. The layout through a symlink
  # whose path is, removed afterwards with the image podman stored.
  alias_dir=/tmp/elfprune-demo-$$
  rm -rf "$alias_dir" && mkdir -p "$alias_dir" && ln -s "$slim" "$alias_dir/image"
  image_id=$(python3 -c 'import json,sys; d=sys.argv[1]
m=json.load(open(d+"/index.json"))["manifests"][0]["digest"][7:]
print(json.load(open(d+"/blobs/sha256/"+m))["config"]["digest"][7:])' "$slim")
  podman_run=(podman --runtime runc run --rm --network none --ulimit nofile=1024:1024
              --ulimit nproc=1024:1024 "oci:$alias_dir/image:demo")
  if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1; then
    had_image=0
    podman image exists "$image_id" 2>/dev/null && had_image=1
    echo "== ${podman_run[*]/$repo\//}"
    if "${podman_run[@]}" >"$log/podman.txt" 2>&1; then
      grep '^orders-handler:' "$log/podman.txt" || die "the image ran but printed: $(tail -n 3 "$log/podman.txt")"
    else
      image_note="podman could not run the image here: $(tail -n 1 "$log/podman.txt")"
      echo "   $image_note"
    fi
    ((had_image)) || podman rmi -f "$image_id" >/dev/null 2>&1 || true
  else
    image_note="podman or runc is missing: the image was written but not run"
    echo "   $image_note"
  fi
  rm -rf "$alias_dir"
else
  echo
  echo "== the image step is skipped: umoci is missing (scripts/setup.sh installs it)"
fi

# --- 8. summary ----------------------------------------------------------------
before=$(sed -n 's/^before: *//p' "$log/prune.txt")
after=$(sed -n 's/^after: *//p' "$log/prune.txt")
echo
echo "== done in $((SECONDS - start)) s: before ${before:-?}; after ${after:-?}; the app still runs"
echo "   JSON report: ${demo#$repo/}/report.json"
