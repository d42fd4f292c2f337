#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from the fixture roots
(fixtures/build-roots.sh output) and the repository's own scripts.

    make_seeds.py --fixtures BUILD/fixtures --source SRC --out BUILD/fuzz-seeds

writes OUT/<target>/<sha1 of the seed> for each target of
tests/fuzz/fuzz_targets.hpp, then OUT/stamp. Nothing here is checked in.
"""
import argparse
import hashlib
import shutil
import struct
import sys
from pathlib import Path

# A seed larger than this slows every run of its target down (LIEF parses a
# whole file each time) and teaches the fuzzer little the small ones do not.
MAX_SEED = 64 * 1024
# As in tests/fuzz/ldconf_fuzz.cpp: the files of one ld.so.conf input.
LDCONF_SEPARATOR = b"\n#--\n"
LDCONF_MAX_PARTS = 8


def regular_files(top):
    return sorted(p for p in top.rglob("*") if p.is_file() and not p.is_symlink())


def dlopen_descriptors(data):
    """The descriptors of the notes in a .note.dlopen section of an ELF64
    little-endian file (what the fixtures are)."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1 or len(data) < 64:
        return []
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)
    if shentsize != 64 or shoff + shnum * 64 > len(data) or shstrndx >= shnum:
        return []
    sections = [struct.unpack_from("<IIQQQQ", data, shoff + i * 64) for i in range(shnum)]
    strtab_off = sections[shstrndx][4]
    out = []
    for name, _type, _flags, _addr, offset, size in sections:
        end = data.find(b"\0", strtab_off + name)
        if data[strtab_off + name:end] != b".note.dlopen":
            continue
        note = data[offset:offset + size]
        pos = 0
        while pos + 12 <= len(note):
            namesz, descsz, _ = struct.unpack_from("<III", note, pos)
            desc = pos + 12 + (namesz + 3) // 4 * 4
            out.append(note[desc:desc + descsz])
            pos = desc + (descsz + 3) // 4 * 4
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", type=Path, required=True)
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    index = args.fixtures / "index.json"
    if not index.is_file():
        sys.exit(f"make_seeds: {index}: no fixture roots (build the `fixtures` target first)")
    roots = sorted(p for p in args.fixtures.iterdir()
                   if p.is_dir() and not p.name.startswith(".") and p.name != "CMakeFiles")
    scripts = [p for pattern in ("scripts/*.sh", "fixtures/*.sh", "fixtures/*.py",
                                 "tests/e2e/*.py", "tests/fuzz/*.py")
               for p in sorted(args.source.glob(pattern))]

    seeds = {t: set() for t in ("elf", "ldcache", "ldconf", "dlopen_note", "shebang",
                                "pathrefs", "rewrite")}
    for root in roots:
        for path in regular_files(root):
            data = path.read_bytes()
            if data.startswith(b"\x7fELF"):
                seeds["dlopen_note"].update(dlopen_descriptors(data))
                if len(data) <= MAX_SEED:
                    seeds["elf"].add(data)
                    seeds["rewrite"].add(data)
            if path.name == "ld.so.cache":
                seeds["ldcache"].add(data)
            if data.startswith(b"#!"):
                seeds["shebang"].add(data[:256])
            if len(data) <= MAX_SEED:
                seeds["pathrefs"].add(data)
        conf = root / "etc/ld.so.conf"
        if conf.is_file():
            included = regular_files(root / "etc/ld.so.conf.d") if (root / "etc/ld.so.conf.d").is_dir() else []
            parts = [conf.read_bytes()] + [p.read_bytes() for p in included]
            seeds["ldconf"].add(LDCONF_SEPARATOR.join(parts[:LDCONF_MAX_PARTS]))
            seeds["ldconf"].update(parts)
    for path in scripts:
        data = path.read_bytes()
        seeds["shebang"].add(data[:256])
        seeds["pathrefs"].add(data[:MAX_SEED])
        seeds["rewrite"].add(data[:MAX_SEED])

    if args.out.exists():
        shutil.rmtree(args.out)
    for target, found in seeds.items():
        if not found:
            sys.exit(f"make_seeds: no seeds for {target} in {args.fixtures}")
        directory = args.out / target
        directory.mkdir(parents=True)
        for data in found:
            (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)
        print(f"make_seeds: {target}: {len(found)} seeds")
    (args.out / "stamp").write_text("")


if __name__ == "__main__":
    main()
