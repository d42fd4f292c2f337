#!/usr/bin/env python3
"""e2e.elf.readers_agree: on every ELF file of the Debian root, the fast
bounds-checked reader that the resolver uses (read_elf) gives the same
ElfInfo as a full LIEF parse (read_elf_with_lief).

    elf_readers_agree.py --tool BUILD/tests/elf_readers_agree --root DIR
"""
import argparse
import os
import subprocess
import sys

import debian_root


def elf_files(root):
    """Inside paths of every regular file starting with the ELF magic."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames
                       if not os.path.ismount(os.path.join(dirpath, d))]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            try:
                with open(path, "rb") as f:
                    if f.read(4) == b"\x7fELF":
                        out.append("/" + os.path.relpath(path, root))
            except OSError:
                continue
    return sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool", required=True)
    ap.add_argument("--root", required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("elf readers: debootstrap needs root; run the end-to-end tests as root")
    root = debian_root.root_for_test(args.root)
    files = elf_files(root)
    if not files:
        sys.exit(f"elf readers: no ELF files found in {root}")
    run = subprocess.run([args.tool, root], input="\n".join(files) + "\n", text=True,
                         capture_output=True)
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
