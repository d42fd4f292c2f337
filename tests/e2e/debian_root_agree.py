#!/usr/bin/env python3
"""e2e.debian_root.loader_agrees: in a real Debian 12 root, `elfprune deps`
agrees with the real loader for every dynamic ELF executable and library.

    debian_root_agree.py --elfprune BIN --root DIR

DIR is made by debootstrap unless it holds the stamp of a finished build:
debootstrap writes into a temporary directory beside DIR, which is renamed
to DIR only once complete, so a half-built root is never used. For
development, ELFPRUNE_DEBIAN_ROOT names an existing root to use instead.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import loader_compare as lc
from elf_files import dynamic_elf_files

DEBOOTSTRAP = ["debootstrap", "--variant=minbase", "--include=nodejs,python3,perl", "bookworm"]
STAMP = ".elfprune-debootstrap-complete"


def mounts_under(path):
    """Mount points at or below `path`, deepest first."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[4])
            if point == path or point.startswith(path + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def remove_tree(path):
    """Delete a (possibly half-built) root. debootstrap mounts /proc and
    /sys, maybe /dev, inside its target; deleting through a mount would
    delete the host's files, so unmount first and refuse if that fails."""
    for point in mounts_under(path):
        if subprocess.run(["umount", point]).returncode != 0:
            subprocess.run(["umount", "-l", point])
    if left := mounts_under(path):
        sys.exit(f"debian root: refusing to delete {path}: still mounted: {left}")
    shutil.rmtree(path)


def ensure_root(path):
    """Build the root at `path` with debootstrap unless already complete."""
    if os.path.exists(os.path.join(path, STAMP)):
        print(f"debian root: reusing {path} (built by: {' '.join(DEBOOTSTRAP)} DIR)")
        return
    for stale in glob.glob(path + ".tmp.*") + ([path] if os.path.lexists(path) else []):
        print(f"debian root: removing incomplete {stale}")
        remove_tree(stale)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=os.path.basename(path) + ".tmp.", dir=parent)
    os.chmod(tmp, 0o755)  # it becomes the root's "/"; mkdtemp made it 0700
    log = path + ".debootstrap.log"
    print(f"debian root: running {' '.join(DEBOOTSTRAP)} {tmp} (log: {log}); takes minutes",
          flush=True)
    with open(log, "w") as out:
        rc = subprocess.run(DEBOOTSTRAP + [tmp], stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL).returncode
    if rc != 0:
        with open(log, errors="replace") as f:
            tail = f.readlines()[-25:]
        print("".join(tail), end="")
        remove_tree(tmp)
        sys.exit(f"debian root: debootstrap failed with exit status {rc}; see {log}")
    with open(os.path.join(tmp, STAMP), "w") as f:
        f.write(" ".join(DEBOOTSTRAP) + " DIR\n")
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # keep order with stderr
    if os.geteuid() != 0:
        sys.exit("debian root: debootstrap and chroot need root; run the end-to-end tests as root")
    root = os.environ.get("ELFPRUNE_DEBIAN_ROOT")
    if root:
        print(f"debian root: ELFPRUNE_DEBIAN_ROOT={root}: development override, not built here")
    else:
        root = args.root
        ensure_root(root)
    root = os.path.abspath(root)

    files = dynamic_elf_files(root)
    if not files:
        sys.exit(f"debian root: no dynamic ELF files found in {root}")
    # Each exclusion says why; anything else the loader refuses is a failure.
    excluded = {lc.realpath_in(root, lc.GLIBC_LOADER):
                "the loader itself: `ld.so ld.so` maps the loader as its own program, "
                "which says nothing about how dependencies are found"}
    for file, why in excluded.items():
        print(f"EXCLUDED {file}: {why}")
    compared = [f for f in files if f not in excluded]
    objects = lc.run_elfprune(args.elfprune, root, compared)
    agree, disagree, refused = lc.compare(root, lc.GLIBC_LOADER, compared, objects)
    for file, said in refused.items():
        print(f"REFUSED {file}: not on the exclusion list; the loader said: {said}")
    gconv = sum(1 for f in agree if "/gconv/" in f)
    print(f"debian root: {len(files)} dynamic ELF files, {len(excluded)} excluded, "
          f"{len(compared)} compared, {len(agree)} agree (of them {gconv} gconv modules), "
          f"{len(disagree)} disagree, {len(refused)} refused by the loader")
    return 1 if disagree or refused else 0


if __name__ == "__main__":
    sys.exit(main())
