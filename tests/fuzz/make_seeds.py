#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from the fixture roots
(fixtures/build-roots.sh output) and the repository's own scripts.

    make_seeds.py --fixtures BUILD/fixtures --source SRC --out BUILD/fuzz-seeds

writes OUT/<target>/<sha1 of the seed> for each target of
tests/fuzz/fuzz_targets.hpp, then OUT/stamp. Nothing here is checked in.
"""
import argparse
import gzip
import hashlib
import io
import json
import shutil
import struct
import sys
import tarfile
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


# As in tests/fuzz/image_config_fuzz.cpp: the blobs its layout always holds,
# an empty layer (1024 zero bytes) and a config naming it, so that seeds can
# name them by digest.
FIXED_LAYER = bytes(1024)
FIXED_CONFIG = (
    '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/sh"]},'
    '"rootfs":{"type":"layers","diff_ids":["sha256:' + hashlib.sha256(FIXED_LAYER).hexdigest()
    + '"]}}').encode()
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def descriptor(media_type, data, **extra):
    return dict(mediaType=media_type, digest="sha256:" + hashlib.sha256(data).hexdigest(),
                size=len(data), **extra)


def image_config_seeds():
    """Configs, manifests and indexes: what the image_config target reads."""
    def dump(doc):
        return json.dumps(doc, separators=(",", ":")).encode()
    manifest = dump({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor("application/vnd.oci.image.config.v1+json", FIXED_CONFIG),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", FIXED_LAYER)]})
    amd64 = descriptor(OCI_MANIFEST, manifest, platform={"os": "linux", "architecture": "amd64"},
                       annotations={"org.opencontainers.image.ref.name": "latest"})
    arm64 = descriptor(OCI_MANIFEST, manifest,
                       platform={"os": "linux", "architecture": "arm64", "variant": "v8"})
    attestation = descriptor(OCI_MANIFEST, manifest,
                             platform={"os": "unknown", "architecture": "unknown"},
                             annotations={"vnd.docker.reference.type": "attestation-manifest"})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [amd64, arm64, attestation]}
    config = {
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["exec node /app/index.js"],
                   "Env": ["PATH=/usr/bin:/bin", "LAMBDA_TASK_ROOT=/var/task"],
                   "WorkingDir": "/app", "User": "1000:1000"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]},
        "history": [{"created_by": "x"}]}
    return {FIXED_CONFIG, manifest, dump(index), dump({"manifests": [amd64]}), dump(config),
            dump({"schemaVersion": 2, "mediaType": OCI_INDEX,
                  "manifests": [descriptor(OCI_INDEX, dump(index))]})}


def layer_seeds():
    """Layer tars (plain and gzip) with what layer application must handle:
    whiteouts, opaque directories, hardlinks, symlinked parents, devices,
    xattrs, './' names."""
    def tar(members):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
            for kind, name, arg in members:
                info = tarfile.TarInfo(name)
                info.mtime = 1700000000
                data = None
                if kind == "dir":
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                elif kind == "sym":
                    info.type, info.linkname = tarfile.SYMTYPE, arg
                elif kind == "hard":
                    info.type, info.linkname = tarfile.LNKTYPE, arg
                elif kind == "chr":
                    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
                elif kind == "fifo":
                    info.type = tarfile.FIFOTYPE
                else:
                    data = arg
                    info.size, info.mode = len(data), 0o4755 if kind == "suid" else 0o644
                    if kind == "cap":
                        info.pax_headers = {"SCHILY.xattr.security.capability": "\x01\x00\x00\x02"}
                t.addfile(info, io.BytesIO(data) if data is not None else None)
        return out.getvalue()
    lower = tar([("dir", "./", None), ("dir", "./usr/", None), ("dir", "./usr/lib/", None),
                 ("file", "./usr/lib/libc.so.6", b"\x7fELF"), ("sym", "./lib", "usr/lib"),
                 ("suid", "./usr/bin/ping", b"ping"), ("cap", "./usr/bin/arping", b"arping"),
                 ("hard", "./usr/bin/ping2", "./usr/bin/ping"), ("chr", "./dev/null", None),
                 ("fifo", "./run/initctl", None), ("file", "./app/old.js", b"old"),
                 ("file", "./etc/ssl.conf", b"conf"), ("dir", "./etc/ssl/", None),
                 ("file", "./etc/ssl/cert.pem", b"pem")])
    upper = tar([("file", "lib/libm.so.6", b"\x7fELF"), ("file", "app/new.js", b"new"),
                 ("file", "app/.wh..wh..opq", b""), ("file", "etc/.wh.ssl", b""),
                 ("hard", "usr/bin/ping3", "usr/bin/ping"), ("file", ".wh.missing", b""),
                 ("sym", "up", "/../../.."), ("file", "up/escaped", b"x"),
                 ("file", "usr/bin/ping", b"new ping")])
    return {lower, upper, gzip.compress(lower, mtime=0), gzip.compress(upper, mtime=0),
            bytes(1024)}


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
    # Built here, not found in the fixture roots (unused without ELFPRUNE_IMAGES).
    seeds["image_config"] = image_config_seeds()
    seeds["layer"] = layer_seeds()
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
