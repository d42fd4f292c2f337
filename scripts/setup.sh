#!/usr/bin/env bash
# Install every build and test dependency from Debian's packages, and the
# packages named as arguments (scripts/fuzz.sh adds clang's).
# Idempotent: runs `apt-get update` only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  # a compiler cache outside the clone (CMakeLists.txt): a fresh clone
  # compiles only what changed
  ccache
  liblief-dev libcli11-dev libfmt-dev libgtest-dev nlohmann-json3-dev
  # images (src/image/): tars, gzip and zstd; sha256
  libarchive-dev libssl-dev
  python3 python3-pyelftools
  debootstrap musl-tools pax-utils strace file
  # a real nix-build for the Nix end-to-end tests (single user, offline)
  nix-bin
  # chattr (immutable files in the --in-place tests); setpriv is util-linux's
  e2fsprogs
  # a real multi-stage `podman build` with the runc runtime
  # (e2e.container.containerfile_build)
  podman runc
  # build the test images and read the results of `prune IMAGE --out IMAGE`
  # (e2e.image.prune)
  skopeo umoci
  # 32-bit fixture libraries (the loader must skip a foreign class)
  gcc-multilib
  # aws-lambda-ric's install script builds curl and aws-lambda-cpp from source
  # (the npm end-to-end test)
  autoconf automake libtool make g++ libcurl4-openssl-dev
  "$@"
)
# Node.js and npm for the npm end-to-end test, from Debian when the machine
# has none of its own.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
