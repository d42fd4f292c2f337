#!/usr/bin/env python3
"""e2e.image.hostile: `prune IMAGE --out IMAGE` on broken and hostile images
made here (Python's tarfile, gzip and json; nothing downloaded) ends with a
clear error or warning naming the image part, never by a signal, and writes
nothing outside --out.

    hostile_image.py --elfprune BIN --work DIR

Each case is an OCI layout (or archive) built from a small valid image by
one change: a truncated gzip layer (digest fixed to match, so that the
decompressor meets it), garbage for a layer, a blob whose bytes do not match
its digest, a wrong diff_id, a missing blob, an index with no linux/amd64
manifest, a whiteout of a path that does not exist (a warning only), names
with '..' and absolute names, a hardlink out of the image, a symlink
leading out of the image that a later layer writes through, a docker-archive
whose manifest.json names '../', an oci-archive holding '../escape', an
index.json that is not JSON, a layer with device nodes and a FIFO (kept as
headers). Checks per case: exit status as expected (0, 1 or 2; never a
signal), the expected words on stderr or in the report, no --out and no
temporary left beside it after a failure, no file written at the marker
paths outside the image, and for the cases that succeed the output image's
layer holds what it should.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

from prune_common import Checks


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def tar_bytes(entries):
    """entries: list of (TarInfo, data or None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def reg(name, data=b"x", mode=0o644):
    i = tarfile.TarInfo(name)
    i.size = len(data)
    i.mode = mode
    i.mtime = 1700000000
    return (i, data)


def dirent(name):
    i = tarfile.TarInfo(name)
    i.type = tarfile.DIRTYPE
    i.mode = 0o755
    i.mtime = 1700000000
    return (i, None)


def link(name, target, kind=tarfile.SYMTYPE):
    i = tarfile.TarInfo(name)
    i.type = kind
    i.linkname = target
    i.mtime = 1700000000
    return (i, None)


def special(name, kind, major=0, minor=0):
    i = tarfile.TarInfo(name)
    i.type = kind
    i.devmajor, i.devminor = major, minor
    i.mode = 0o666
    return (i, None)


def gz(data):
    return gzip.compress(data, mtime=0)


def write_layout(path, layers, config_extra=None, diff_ids=None, platform=("linux", "amd64"),
                 index_override=None, manifest_layers=None):
    """layers: list of (blob bytes, tar bytes). Returns the layout path."""
    os.makedirs(os.path.join(path, "blobs", "sha256"))

    def put(b):
        with open(os.path.join(path, "blobs", "sha256", sha(b)[7:]), "wb") as f:
            f.write(b)
        return sha(b)

    config = {
        "created": "2023-11-14T22:13:20Z",
        "architecture": platform[1],
        "os": platform[0],
        "config": {"Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers",
                   "diff_ids": diff_ids if diff_ids is not None else [sha(t) for _, t in layers]},
        "history": [{"created_by": f"layer {i}"} for i in range(len(layers))],
    }
    config.update(config_extra or {})
    cbytes = json.dumps(config).encode()
    descs = manifest_layers if manifest_layers is not None else [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(b), "size": len(b)}
        for b, _ in layers]
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": put(cbytes), "size": len(cbytes)},
                "layers": descs}
    mbytes = json.dumps(manifest).encode()
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(mbytes),
         "size": len(mbytes), "platform": {"os": platform[0], "architecture": platform[1]},
         "annotations": {"org.opencontainers.image.ref.name": "t"}}]}
    with open(os.path.join(path, "index.json"), "wb") as f:
        f.write(index_override if index_override is not None else json.dumps(index).encode())
    with open(os.path.join(path, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return path


BASE = [dirent("usr/"), dirent("usr/bin/"), reg("usr/bin/tool", b"#!/bin/sh\necho hi\n", 0o755),
        dirent("etc/"), reg("etc/hostname", b"box\n")]


def layer(entries):
    t = tar_bytes(entries)
    return (gz(t), t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    marker = os.path.join(work, "outside")
    os.makedirs(marker)
    c = Checks("e2e.image.hostile")

    def case(name, image, want_rc, words, out_kind="oci"):
        out_path = os.path.join(work, f"out-{name}" + ("" if out_kind == "oci" else ".tar"))
        out = f"{out_kind}:{out_path}"
        cmd = [a.elfprune, "prune", image, "--out", out, "--json"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, TMPDIR=os.path.join(work, "tmp")))
        text = p.stderr + p.stdout
        c.check(p.returncode >= 0, f"{name}: no death by a signal", f"exit {p.returncode}")
        c.check(p.returncode == want_rc, f"{name}: exit {want_rc}",
                f"exit {p.returncode}; stderr: {p.stderr.strip()[:300]}")
        for w in words:
            c.check(w in text, f"{name}: says '{w}'", p.stderr.strip()[:300])
        if want_rc != 0:
            c.check(not os.path.exists(out_path), f"{name}: nothing at --out")
        leftovers = [n for n in os.listdir(work) if ".elfprune-" in n]
        c.check(not leftovers, f"{name}: no temporary beside --out", " ".join(leftovers))
        staging = os.listdir(os.path.join(work, "tmp"))
        c.check(not staging, f"{name}: the staging tree is gone", " ".join(staging))
        c.check(os.listdir(marker) == [], f"{name}: nothing written outside the image",
                " ".join(os.listdir(marker)))
        return p, out_path

    os.makedirs(os.path.join(work, "tmp"))
    good = layer(BASE)

    # Truncated gzip, digest made to match: the decompressor finds it.
    blob, tar = good
    cut = blob[: len(blob) // 2]
    img = write_layout(os.path.join(work, "truncated"), [(cut, tar)])
    case("truncated_gzip", f"oci:{img}", 2, ["layer 1", "truncated gzip"])

    junk = os.urandom(4096)
    img = write_layout(os.path.join(work, "garbage"), [(junk, junk)])
    case("garbage_layer", f"oci:{img}", 2, ["layer 1"])

    img = write_layout(os.path.join(work, "digest"), [good])
    lay = json.load(open(os.path.join(img, "index.json")))
    mpath = os.path.join(img, "blobs", "sha256", lay["manifests"][0]["digest"][7:])
    ldig = json.load(open(mpath))["layers"][0]["digest"]
    lpath = os.path.join(img, "blobs", "sha256", ldig[7:])
    # Other bytes, the same tar (a gzip header with another mtime): it reads,
    # its diff_id holds, only the digest tells.
    open(lpath, "wb").write(gzip.compress(good[1], mtime=12345))
    case("digest_mismatch", f"oci:{img}", 2, ["does not match its digest"])

    img = write_layout(os.path.join(work, "diffid"), [good], diff_ids=[sha(b"not the tar")])
    case("wrong_diff_id", f"oci:{img}", 2, ["diff_id"])

    img = write_layout(os.path.join(work, "missing"), [good])
    os.unlink(os.path.join(img, "blobs", "sha256", sha(good[0])[7:]))
    case("missing_blob", f"oci:{img}", 2, ["missing"])

    img = write_layout(os.path.join(work, "arm"), [good], platform=("linux", "arm64"))
    case("no_amd64", f"oci:{img}", 2, ["linux/arm64", "--platform"])

    img = write_layout(os.path.join(work, "badindex"), [good], index_override=b"{not json")
    case("index_not_json", f"oci:{img}", 2, ["index.json", "not valid JSON"])

    # A whiteout of a path no lower layer has: a warning, and the image is written.
    img = write_layout(os.path.join(work, "whiteout"), [good, layer([reg("etc/.wh.nothing", b"")])])
    p, out = case("whiteout_missing", f"oci:{img}", 0, ["no lower layer has"])

    for name, bad in (("dotdot", "../../outside/dotdot"), ("absolute", "/etc/evil")):
        img = write_layout(os.path.join(work, name), [good, layer([reg(bad, b"pwned")])])
        case(f"escape_{name}", f"oci:{img}", 2, ["layer 2", bad])

    img = write_layout(os.path.join(work, "hardlink"),
                       [good, layer([link("etc/passwd", "../../outside/x", tarfile.LNKTYPE)])])
    case("hardlink_out", f"oci:{img}", 2, ["layer 2", "hardlink target"])

    # A symlink out of the image, then a layer writing through it: the write
    # lands inside the image (the link re-rooted), never at the marker.
    img = write_layout(os.path.join(work, "symlink"),
                       [layer(BASE + [link("evil", marker), link("rel", "../../../../../../" + marker)]),
                        layer([reg("evil/pwned", b"pwned"), reg("rel/pwned2", b"pwned")])])
    p, out = case("symlink_parent", f"oci:{img}", 0, [])
    if p.returncode == 0:
        names = subprocess.run(["tar", "-tzf", os.path.join(out, "blobs", "sha256", json.loads(
            open(os.path.join(out, "blobs", "sha256", json.load(open(os.path.join(out, "index.json")))
                              ["manifests"][0]["digest"][7:])).read())["layers"][0]["digest"][7:])],
            capture_output=True, text=True).stdout.split()
        inside = marker.lstrip("/") + "/pwned"
        c.check(inside in names, "symlink_parent: the write through the link stays in the image",
                f"{inside} in the output layer: {inside in names}")

    # Device nodes and a FIFO: kept as headers, no privilege needed.
    img = write_layout(os.path.join(work, "devices"),
                       [layer(BASE + [dirent("dev/"), special("dev/null", tarfile.CHRTYPE, 1, 3),
                                      special("dev/fifo", tarfile.FIFOTYPE)])])
    p, out = case("devices", f"oci:{img}", 0, [])
    if p.returncode == 0:
        idx = json.load(open(os.path.join(out, "index.json")))
        man = json.load(open(os.path.join(out, "blobs", "sha256", idx["manifests"][0]["digest"][7:])))
        blob = open(os.path.join(out, "blobs", "sha256", man["layers"][0]["digest"][7:]), "rb").read()
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as t:
            kinds = {m.name.rstrip("/"): (m.type, m.devmajor, m.devminor) for m in t.getmembers()}
        c.check(kinds.get("dev/null") == (tarfile.CHRTYPE, 1, 3), "devices: /dev/null is char 1,3 again",
                str(kinds.get("dev/null")))
        c.check(kinds.get("dev/fifo", (None,))[0] == tarfile.FIFOTYPE, "devices: the FIFO is a FIFO again",
                str(kinds.get("dev/fifo")))

    # Archives whose own members or manifest escape.
    arch = os.path.join(work, "escape-docker.tar")
    with tarfile.open(arch, "w") as t:
        m = json.dumps([{"Config": "../outside/c.json", "RepoTags": ["x:1"], "Layers": []}]).encode()
        i = tarfile.TarInfo("manifest.json")
        i.size = len(m)
        t.addfile(i, io.BytesIO(m))
    case("docker_manifest_escape", f"docker-archive:{arch}", 2, ["config"])

    arch = os.path.join(work, "escape-oci.tar")
    with tarfile.open(arch, "w") as t:
        i = tarfile.TarInfo("../outside/escape")
        i.size = 5
        t.addfile(i, io.BytesIO(b"pwned"))
    case("oci_archive_member_escape", f"oci-archive:{arch}", 2, ["escapes"], out_kind="oci-archive")

    arch = os.path.join(work, "truncated-archive.tar")
    src = os.path.join(work, "whiteout")
    with tarfile.open(arch, "w") as t:
        t.add(src, arcname=".")
    with open(arch, "r+b") as f:
        f.truncate(os.path.getsize(arch) // 2)
    case("truncated_archive", f"oci-archive:{arch}", 2, ["oci-archive"], out_kind="oci-archive")

    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
