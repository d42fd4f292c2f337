#!/usr/bin/env python3
"""e2e.debian_root.loader_agrees: in a real Debian 12 root, `elfprune deps`
agrees with the real loader for every dynamic ELF executable and library.

    debian_root_agree.py --elfprune BIN --root DIR

DIR is made by debootstrap unless it holds the stamp of a finished build
(debian_root.py: built beside DIR and renamed when complete, under a lock
shared with the prune tests). For development, ELFPRUNE_DEBIAN_ROOT names an
existing root to use instead.
"""
import argparse
import os
import sys

import debian_root
import loader_compare as lc
from elf_files import dynamic_elf_files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # keep order with stderr
    if os.geteuid() != 0:
        sys.exit("debian root: debootstrap and chroot need root; run the end-to-end tests as root")
    root = debian_root.root_for_test(args.root)

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
