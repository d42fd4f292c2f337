#!/usr/bin/env python3
"""e2e.image.prune: `elfprune prune IMAGE --out IMAGE2` on container images
in skopeo's transport syntax (oci:, oci-archive:, docker-archive:), checked
with skopeo, umoci, podman and an independent reader of image layouts.

    prune_image.py --elfprune BIN --root CACHE/debian-root --cache CACHE --work DIR

The input (image_fixtures.py, cached in the test cache): three layers made
with umoci (the Debian root; an npm app at /app with a run-time package
greet, a dev-only package devtool, and whiteouts of a file and a directory
of layer 1; a module the app requires), Entrypoint ["node"], Cmd
["/app/main.js"], WorkingDir /app, Env, User 1000:1000, labels; and its
oci-archive and docker-archive copies (skopeo copy). Every prune is given
no --entry (the entries come from the image config) and `--keep
'/usr/share/doc/**'`, so the whited-out paths would be kept were the
whiteouts not applied (the whited-out directory, /usr/share/doc/python3,
has siblings python3.11 and python3-minimal, which must stay).

The elfprune runs are independent and run four at a time (they wait on
the disk and on each other's gzip as much as they compute); each is printed
with its time. Then:

0. Precondition: podman runs the ORIGINAL image and prints the app's line
   (else every podman check is a SKIP, printed and not counted).
1. For each transport, `prune IN --out OUT --json` into an image of the same
   kind: exit 0; the report's "image" object lists layers {digest, bytes,
   removed_bytes} and entries {path, from} naming /usr/bin/node (node on the
   config's PATH) and /app/main.js; `skopeo inspect` reads OUT; every blob
   digest, size and diff_id is right (read here, not by elfprune or skopeo);
   one layer (squash), gzip (a docker-archive may hold a plain tar); the
   config's `config` object (Env, Entrypoint, Cmd, WorkingDir, User, Labels
   and the rest) equals the original's, os and architecture too; the
   history is the original's plus one entry, and its non-empty entries
   match the layers; the layers' bytes (and the archive) are smaller; the
   report removes devtool as a devDependency; podman runs OUT (`podman
   load` first for the docker-archive) and prints the app's line. The three
   outputs carry the same layer (diff_id). The same command run again gives
   a byte-identical image (sha256 of every file of the layout, or of the
   archive) and the same report.
2. The oci output, `umoci unpack`ed (it checks the blobs): the whited-out
   file and directory are not there, their neighbours are (--keep), no
   `.wh.` name is; devtool is gone, greet, main.js and lib/message.js stay;
   no python3; under half the original's bytes (umoci unpack of the
   original, cached with the fixtures); it holds exactly the report's
   `kept` paths.
3. `--layers keep`: as many layers as the original; each layer the report
   says lost nothing (removed_bytes 0: the app's lib/message.js layer) has
   the original's diff_id and the very same blob; the others (the Debian
   root, the app with devtool) a new diff_id; unpacked: the checks of 2,
   and the same tree as the squashed image; podman runs it.
4. `--compress zstd` and `--compress none`: the layers' media types and
   bytes say so and decompress to the squashed layer's diff_id; podman
   runs the zstd image.
5. `--dry-run --json` reports the config's entries and keeps what the real
   run kept; `--no-config-entries --entry /usr/bin/perl --dry-run` uses only
   perl. Two runs staged their image in TMPDIR=DIR/tmp: it is left empty,
   and no temporary output is left beside the outputs.
6. `why oci:IMAGE /app/main.js --json` keeps it, `why docker-archive:IMAGE
   /app/node_modules/devtool` removes it (a devDependency); `deps --root
   oci-archive:IMAGE /usr/bin/node` lists libnode and libc.
7. No run changed the input images (size and mtime of every file; a blob
   whose ctime changed, as a hardlink to it does, still hashes to its name).

podman runs as this machine needs (as e2e.container.containerfile_build):
`--runtime runc`, `--network none`, nofile/nproc ulimits of 1024. Every
image it stores for a run is removed afterwards (by the config's digest,
unless an image of that ID was there before).
"""
import argparse
import atexit
import concurrent.futures
import gzip
import hashlib
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tarfile
import threading
import time

import debian_root
import image_fixtures as fx
import prune_common as pc

NAME = "image.prune"
KEEP_DOCS = ["--keep", "/usr/share/doc/**"]
OUT_TAG = "pruned"
OUT_DOCKER_NAME = "elfprune-test/app:pruned"
PODMAN_RUN = ["podman", "--runtime", "runc", "run", "--rm", "--quiet", "--network", "none",
              "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
CONFIG_FIELDS = ["Env", "Entrypoint", "Cmd", "WorkingDir", "User", "Labels"]
GZIP_MAGIC, ZSTD_MAGIC = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"
DEVTOOL_BYTES = len(fx.LAYER2["app/node_modules/devtool/lib/table.js"])


def run(cmd, timeout=600, show=True):
    """Run a command; print it, its exit status, time and (shortened) output."""
    print(f"$ {shlex.join(cmd)}", flush=True)
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, encoding="utf-8", errors="replace",
                           timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        print(f"  timed out after {timeout} s")
        return subprocess.CompletedProcess(cmd, -1, "", f"timed out after {timeout} s")
    print(f"  exit {p.returncode} in {time.monotonic() - start:.1f} s")
    if show or p.returncode != 0:
        for stream, mark in ((p.stdout, "|"), (p.stderr, "!")):
            lines = stream.splitlines()
            if len(lines) > 30:
                lines = lines[:20] + [f"... ({len(lines) - 25} lines) ..."] + lines[-5:]
            for line in lines:
                print(f"  {mark} {line}")
    return p


class Job:
    """One elfprune command, run with others at once (run_jobs)."""

    def __init__(self, key, argv, json_out, env=None):
        self.key, self.argv, self.json_out = key, argv, json_out
        self.env = env or {}
        self.proc, self.seconds, self.report = None, 0.0, None


def _run_job(job, timeout):
    env = dict(os.environ, **job.env)
    start = time.monotonic()
    try:
        job.proc = subprocess.run(job.argv, capture_output=True, encoding="utf-8",
                                  errors="replace", timeout=timeout, stdin=subprocess.DEVNULL,
                                  env=env)
    except subprocess.TimeoutExpired:
        job.proc = subprocess.CompletedProcess(job.argv, -1, "", f"timed out after {timeout} s")
    job.seconds = time.monotonic() - start


def run_jobs(jobs, workers=4, timeout=900):
    """Run elfprune commands WORKERS at a time (they wait on the disk as
    much as they compute, so together they take a fraction of the time one
    after another). Prints each, in order, with its exit status, time and,
    for --json, the report's summary. Returns {key: Job}."""
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for f in [pool.submit(_run_job, job, timeout) for job in jobs]:
            f.result()
    print(f"{len(jobs)} elfprune runs, {workers} at a time: {time.monotonic() - start:.1f} s")
    for job in jobs:
        p = job.proc
        print(f"$ {''.join(f'{k}={v} ' for k, v in job.env.items())}{shlex.join(job.argv)}")
        print(f"  exit {p.returncode} in {job.seconds:.1f} s")
        if job.json_out and p.returncode == 0:
            try:
                job.report = json.loads(p.stdout)
            except ValueError as e:
                print(f"  stdout is not JSON: {e}: {p.stdout[:500]!r}")
            r = job.report or {}
            print(f"  report: before {r.get('before')}, after {r.get('after')}, "
                  f"{len(r.get('problems') or [])} problems")
            image = r.get("image")
            if isinstance(image, dict):
                print("  image: " + json.dumps({k: v for k, v in image.items()
                                                if k != "layers"})[:800])
                for layer in image.get("layers") or []:
                    print(f"    layer {json.dumps(layer)[:400]}")
        else:
            lines = p.stdout.splitlines()
            if len(lines) > 12:
                lines = lines[:8] + [f"... ({len(lines) - 10} lines) ..."] + lines[-2:]
            for line in lines:
                print(f"  | {line}")
        for line in p.stderr.splitlines()[:30]:
            print(f"  ! {line}")
    return {job.key: job for job in jobs}


# ------------------------------------------------- reading images (no elfprune, no skopeo)

class Blobs:
    """Named files of an OCI layout directory or of a tar archive."""

    def __init__(self, path):
        self.path = path
        self.tar = None
        if not os.path.isdir(path):
            self.tar = tarfile.open(path, "r:")
            self.members = {os.path.normpath(m.name).lstrip("/"): m
                            for m in self.tar.getmembers() if m.isfile()}

    def open(self, name):
        name = os.path.normpath(name).lstrip("/")
        if self.tar is None:
            return open(os.path.join(self.path, name), "rb")
        if name not in self.members:
            raise OSError(f"{self.path}: no {name} in the archive")
        return self.tar.extractfile(self.members[name])

    def read(self, name):
        with self.open(name) as f:
            return f.read()

    def close(self):
        if self.tar is not None:
            self.tar.close()


def _blob_name(digest):
    algo, _, hexd = digest.partition(":")
    return f"blobs/{algo}/{hexd}"


class Image:
    """An image as its bytes say: manifest, config (bytes and JSON) and
    layers [{name, digest, size, media_type}]; `problems` lists what is
    wrong in its descriptors."""

    def __init__(self, kind, path, tag):
        self.kind, self.path, self.tag = kind, path, tag
        self.problems = []
        self.blobs = Blobs(path)
        if kind == "docker-archive":
            self._docker()
        else:
            self._oci()
        self.config = json.loads(self.config_bytes)
        self.config_id = hashlib.sha256(self.config_bytes).hexdigest()

    def _descriptor_bytes(self, desc, what):
        data = self.blobs.read(_blob_name(desc["digest"]))
        got = "sha256:" + hashlib.sha256(data).hexdigest()
        if got != desc["digest"] or len(data) != desc.get("size"):
            self.problems.append(f"{what}: {got} of {len(data)} bytes, the descriptor says "
                                 f"{desc['digest']} of {desc.get('size')}")
        return data

    def _oci(self):
        index = json.loads(self.blobs.read("index.json"))
        found = [m for m in index.get("manifests", [])
                 if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == self.tag]
        if not found and len(index.get("manifests", [])) == 1:
            found = index["manifests"]
        if len(found) != 1:
            raise ValueError(f"{self.path}: {len(found)} manifests tagged {self.tag!r} in index.json")
        desc = found[0]
        while desc.get("mediaType") == "application/vnd.oci.image.index.v1+json":
            nested = json.loads(self._descriptor_bytes(desc, "image index"))
            here = [m for m in nested.get("manifests", [])
                    if m.get("platform", {}).get("os") == "linux"]
            if not here:
                raise ValueError(f"{self.path}: no linux manifest in the nested index")
            desc = here[0]
        self.manifest = json.loads(self._descriptor_bytes(desc, "manifest"))
        self.config_bytes = self._descriptor_bytes(self.manifest["config"], "config")
        self.layers = [{"name": _blob_name(d["digest"]), "digest": d["digest"], "size": d["size"],
                        "media_type": d.get("mediaType", "")} for d in self.manifest["layers"]]

    def _docker(self):
        entries = json.loads(self.blobs.read("manifest.json"))
        found = [e for e in entries
                 if any(t == self.tag or t.endswith("/" + self.tag) for t in e.get("RepoTags") or [])]
        if not found and len(entries) == 1:
            found = entries
        if len(found) != 1:
            raise ValueError(f"{self.path}: {len(found)} images named {self.tag!r} in manifest.json")
        self.manifest = found[0]
        self.config_bytes = self.blobs.read(self.manifest["Config"])
        self.layers = []
        for name in self.manifest["Layers"]:
            member = self.blobs.members.get(os.path.normpath(name))
            self.layers.append({"name": name, "digest": None,
                                "size": member.size if member else None, "media_type": ""})

    def diff_ids(self):
        return self.config.get("rootfs", {}).get("diff_ids", [])

    def layer_bytes(self):
        return sum(layer["size"] or 0 for layer in self.layers)

    def verify_layers(self):
        """Problems with the layers: blob digest and size against the
        descriptor (OCI), media type against the bytes, and the sha256 of
        the uncompressed bytes against the config's diff_ids."""
        problems = list(self.problems)
        ids = self.diff_ids()
        if len(ids) != len(self.layers):
            problems.append(f"{len(self.layers)} layers but {len(ids)} diff_ids")
        for i, layer in enumerate(self.layers):
            with self.blobs.open(layer["name"]) as f:
                blob_sha, size, tar_sha, compression = digest_layer(f)
            if layer["digest"] is not None and (f"sha256:{blob_sha}" != layer["digest"]
                                                or size != layer["size"]):
                problems.append(f"layer {i}: blob is sha256:{blob_sha} of {size} bytes, the "
                                f"manifest says {layer['digest']} of {layer['size']}")
            mt = layer["media_type"]
            if mt and not mt.endswith({"gzip": "gzip", "zstd": "zstd", "none": "tar"}[compression]):
                problems.append(f"layer {i}: media type {mt} but the bytes are {compression}")
            layer["compression"], layer["diff_id"] = compression, f"sha256:{tar_sha}"
            if i < len(ids) and ids[i] != f"sha256:{tar_sha}":
                problems.append(f"layer {i}: uncompressed sha256:{tar_sha}, diff_id {ids[i]}")
        return problems


class _Hashing:
    """A reader that hashes and counts what is read through it."""

    def __init__(self, f):
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def read(self, n=-1):
        data = self.f.read(n)
        self.h.update(data)
        self.n += len(data)
        return data

    def drain(self):
        while self.read(1 << 20):
            pass


def digest_layer(f):
    """(sha256 of the blob, its size, sha256 of the uncompressed tar,
    "gzip" | "zstd" | "none") of a layer read from f."""
    src = _Hashing(f)
    head = src.read(4)
    tar_h = hashlib.sha256()

    class Prefixed:
        def __init__(self):
            self.pending = head

        def read(self, n=-1):
            n = n if n is not None and n >= 0 else 1 << 20
            if self.pending:
                data, self.pending = self.pending[:n], self.pending[n:]
                return data
            return src.read(n)

    if head[:2] == GZIP_MAGIC:
        kind = "gzip"
        with gzip.GzipFile(fileobj=Prefixed()) as g:
            for block in iter(lambda: g.read(1 << 20), b""):
                tar_h.update(block)
    elif head == ZSTD_MAGIC:
        kind = "zstd"
        z = subprocess.Popen(["zstd", "-dcq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        reader = Prefixed()

        def feed():
            try:
                for block in iter(lambda: reader.read(1 << 20), b""):
                    z.stdin.write(block)
            except BrokenPipeError:
                pass
            finally:
                z.stdin.close()
        t = threading.Thread(target=feed)
        t.start()
        for block in iter(lambda: z.stdout.read(1 << 20), b""):
            tar_h.update(block)
        t.join()
        if z.wait() != 0:
            tar_h.update(b"zstd failed")
    else:
        kind = "none"
        tar_h.update(head)
        for block in iter(lambda: src.read(1 << 20), b""):
            tar_h.update(block)
    src.drain()
    return src.h.hexdigest(), src.n, tar_h.hexdigest(), kind


# ------------------------------------------------- files and trees

def file_hashes(path):
    """{relative path: sha256} of every file below a directory (or of the file)."""
    if not os.path.isdir(path):
        return {"": pc._sha256(path)}
    return {rel: pc._sha256(host) for rel, host, st in pc.walk(path) if stat.S_ISREG(st.st_mode)}


def stat_snapshot(paths):
    """{path: (size, mtime, ctime)} of every file and directory below paths."""
    snap = {}
    for top in paths:
        st = os.lstat(top)
        snap[top] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if os.path.isdir(top):
            for rel, host, st in pc.walk(top):
                snap[host] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return snap


def whiteout_names(top):
    return [rel for rel, _, _ in pc.walk(top) if os.path.basename(rel).startswith(".wh.")]


def path_size(path):
    if os.path.isdir(path):
        return sum(st.st_size for _, _, st in pc.walk(path) if stat.S_ISREG(st.st_mode))
    return os.path.getsize(path)


# ------------------------------------------------- podman

class Podman:
    """podman runs of images; images it stores for a run are removed."""

    def __init__(self, skipped):
        self.usable = shutil.which("podman") is not None and shutil.which("runc") is not None
        self.skipped = skipped
        self.why_not = "" if self.usable else "podman or runc is not installed"

    def skip(self, what):
        line = f"SKIP {what}: {self.why_not}"
        self.skipped.append(line)
        print(line)

    def _exists(self, ref):
        return subprocess.run(["podman", "image", "exists", ref],
                              capture_output=True).returncode == 0

    def run_ref(self, ref, config_id):
        """`podman run REF`: (exit, stdout, stderr); the stored image
        (its ID is the config's digest) is removed unless it was there."""
        had = self._exists(config_id)
        ref = self._lowercase(ref)
        try:
            p = run(PODMAN_RUN + [ref], timeout=600)
            return p.returncode, p.stdout.strip(), p.stderr.strip()
        finally:
            if not had and self._exists(config_id):
                subprocess.run(["podman", "rmi", "--force", config_id], capture_output=True)

    def _lowercase(self, ref):
        """podman names an oci: image after its path, and a name must be
        lower case: a path under `mktemp -d` (CI's clone) is not. The same
        layout through a symlink whose path is."""
        transport, _, rest = ref.partition(":")
        path, sep, tag = rest.partition(":")
        if path == path.lower():
            return ref
        alias_dir = f"/tmp/elfprune-podman-{os.getpid()}"
        if not os.path.isdir(alias_dir):
            os.makedirs(alias_dir)
            atexit.register(shutil.rmtree, alias_dir, True)
        alias = os.path.join(alias_dir, f"image{len(os.listdir(alias_dir))}")
        os.symlink(path, alias)
        return f"{transport}:{alias}{sep}{tag}"

    def load_and_run(self, archive, name):
        """`podman load -i ARCHIVE`, then run the image it names; removed after."""
        had = self._exists(name)
        p = run(["podman", "load", "-i", archive], timeout=600)
        if p.returncode != 0:
            return p.returncode, "", f"podman load failed: {p.stderr.strip()[-1500:]}"
        loaded = [line.split(":", 1)[1].strip() for line in (p.stdout + p.stderr).splitlines()
                  if line.startswith("Loaded image")]
        ref = loaded[0].split(",")[0].strip() if loaded else name
        try:
            q = run(PODMAN_RUN + [ref], timeout=600)
            return q.returncode, q.stdout.strip(), q.stderr.strip()
        finally:
            if not had:
                subprocess.run(["podman", "rmi", ref], capture_output=True)


def check_runs(checks, podman, what, result):
    rc, out, err = result
    return checks.check(rc == 0 and out == fx.APP_LINE, what,
                        f"exit {rc}, stdout {out!r}" +
                        ("" if out == fx.APP_LINE else f", expected {fx.APP_LINE!r}") +
                        (f", stderr {err[-1500:]!r}" if rc != 0 or out != fx.APP_LINE else ""))


# ------------------------------------------------- the checks

def check_report(checks, label, report):
    """The report's image object: layers and entries from the config."""
    image = (report or {}).get("image")
    if not checks.check(isinstance(image, dict), f"{label}: the report has an \"image\" object",
                        f"keys {sorted((report or {}).keys())}"):
        return None
    layers = image.get("layers")
    ok = (isinstance(layers, list) and layers and
          all(isinstance(layer, dict) and isinstance(layer.get("digest"), str) and
              isinstance(layer.get("bytes"), int) and isinstance(layer.get("removed_bytes"), int)
              for layer in layers))
    checks.check(ok, f"{label}: image.layers lists {{digest, bytes, removed_bytes}}",
                 f"{json.dumps(layers)[:600]}")
    entries = image.get("entries")
    paths = {e.get("path"): e.get("from") for e in entries or [] if isinstance(e, dict)}
    checks.check("/usr/bin/node" in paths and "/app/main.js" in paths and
                 all(isinstance(f, str) and f for f in paths.values()),
                 f"{label}: image.entries name /usr/bin/node (node on the config's PATH) and "
                 "/app/main.js (Cmd), each with where it came from", f"{entries}")
    removed = {p.get("path"): p for p in (report or {}).get("removed_packages", [])}
    dev = removed.get(fx.DEV_PACKAGE, {})
    checks.check("devDependency of image-app" in (dev.get("reason") or ""),
                 f"{label}: the report removes {fx.DEV_PACKAGE} as a devDependency of image-app",
                 f"{dev or 'not in removed_packages: ' + str(sorted(removed))[:300]}")
    checks.check(not (report or {}).get("problems"), f"{label}: the report lists no problems",
                 f"{(report or {}).get('problems')}")
    return image


def compare_configs(checks, label, original, out, added_history=1):
    oc, nc = original.get("config", {}), out.get("config", {})
    differ = [k for k in sorted(set(oc) | set(nc)) if oc.get(k) != nc.get(k)]
    checks.check(not differ, f"{label}: the config's Env, Entrypoint, Cmd, WorkingDir, User, "
                 "Labels (the whole `config` object) equal the original's",
                 "; ".join(f"{k}: {oc.get(k)!r} -> {nc.get(k)!r}" for k in differ) or
                 ", ".join(f"{k}={json.dumps(nc.get(k))}" for k in CONFIG_FIELDS))
    checks.check(all(out.get(k) == original.get(k) for k in ("os", "architecture")),
                 f"{label}: os and architecture kept",
                 f"{out.get('os')}/{out.get('architecture')}")
    oh, nh = original.get("history") or [], out.get("history") or []
    same_prefix = [h.get("created_by") for h in oh] == [h.get("created_by") for h in nh[:len(oh)]]
    checks.check(len(nh) == len(oh) + added_history and same_prefix,
                 f"{label}: the history is the original's plus {added_history} entry",
                 f"{len(oh)} -> {len(nh)} entries; added {nh[len(oh):]}")
    non_empty = sum(1 for h in nh if not h.get("empty_layer"))
    layers = len(out.get("rootfs", {}).get("diff_ids", []))
    checks.check(non_empty == layers, f"{label}: the history's non-empty entries match the layers",
                 f"{non_empty} non-empty history entries, {layers} layers")


def tree_listing(rootfs):
    """{path: (type and mode, size of a regular file, symlink target)}."""
    out = {}
    for rel, host, st in pc.walk(rootfs):
        out[rel] = (stat.filemode(st.st_mode), st.st_size if stat.S_ISREG(st.st_mode) else None,
                    os.readlink(host) if stat.S_ISLNK(st.st_mode) else None)
    return out


def check_against_report(checks, label, listing, report):
    """The image holds what the report keeps, and nothing it removes."""
    kept = pc.report_paths(report, "kept")
    removed = pc.report_paths(report, "removed")
    files = {p for p, (mode, _, _) in listing.items() if not mode.startswith("d")}
    missing = sorted(kept - set(listing))
    extra = sorted(files - kept)
    back = sorted(removed & set(listing))
    checks.check(kept and not missing and not extra and not back,
                 f"{label}: the image holds exactly what the report keeps",
                 f"{len(kept)} kept, {len(files)} non-directories in the image; kept but "
                 f"missing {len(missing)} {missing[:6]}; not kept but there {len(extra)} "
                 f"{extra[:6]}; removed but there {len(back)} {back[:6]}")


def check_tree(checks, label, rootfs, original_rootfs):
    for p in (fx.WHITEOUT_FILE, fx.WHITEOUT_DIR):
        checks.check(not os.path.lexists(rootfs + p),
                     f"{label}: the whited-out {p} does not come back")
    missing = [p for p in fx.WHITEOUT_NEIGHBOURS if not os.path.lexists(rootfs + p)]
    checks.check(not missing, f"{label}: their neighbours are there (--keep /usr/share/doc/**: "
                 "so the check above means something)", f"missing {missing}")
    wh = whiteout_names(rootfs)
    checks.check(not wh, f"{label}: no .wh. name in the tree", f"{wh[:10]}")
    checks.check(not os.path.lexists(rootfs + fx.DEV_PACKAGE),
                 f"{label}: the dev-only {fx.DEV_PACKAGE} is gone")
    missing = [p for p in (fx.RUNTIME_PACKAGE + "/index.js", fx.RUNTIME_PACKAGE + "/package.json",
                           "/app/main.js", "/app/package.json", "/app/lib/message.js",
                           "/usr/bin/node") if not os.path.lexists(rootfs + p)]
    checks.check(not missing, f"{label}: greet, main.js, lib/message.js and node stay",
                 f"missing {missing}")
    checks.check(not os.path.lexists(rootfs + "/usr/bin/python3"), f"{label}: no python3")
    files, size = pc.tree_size(rootfs)
    ofiles, osize = pc.tree_size(original_rootfs)
    checks.check(size < osize / 2, f"{label}: the tree is under half the original's",
                 f"{files} files {pc.mb(size)}, the original {ofiles} files {pc.mb(osize)} "
                 f"({size / osize:.2f})")


def umoci_unpack(checks, label, layout, tag, bundle):
    p = run(["umoci", "unpack", "--image", f"{layout}:{tag}", bundle])
    return checks.check(p.returncode == 0, f"{label}: `umoci unpack` succeeds (blobs and "
                        "diff_ids checked)", f"exit {p.returncode}: {p.stderr.strip()[-1500:]}")


def read_image(checks, label, kind, path, tag):
    try:
        return Image(kind, path, tag)
    except (OSError, ValueError, KeyError, tarfile.TarError) as e:
        checks.fail(f"{label}: the image can be read", f"{type(e).__name__}: {e}")
        return None


def input_changes(before, after):
    """Input files whose size or mtime changed, or that appeared or went;
    and those whose ctime alone changed (a hardlink made to them), checked
    to still hold the bytes their blob name says."""
    changed, linked = [], []
    for n in sorted(before.keys() | after.keys()):
        a, b = before.get(n), after.get(n)
        if a is None or b is None or a[:2] != b[:2]:
            changed.append(n)
        elif a != b:
            name = os.path.basename(n)
            if "/blobs/sha256/" in n and pc._sha256(n) == name:
                linked.append(n)
            elif os.path.isdir(n):
                continue
            else:
                changed.append(n)
    return changed, linked


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True, help="CACHE/debian-root (debian_root.py)")
    ap.add_argument("--cache", required=True, help="the test cache (the images are kept there)")
    ap.add_argument("--work", required=True, help="scratch directory (emptied first)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root(NAME)
    pc.need_tools(NAME, "skopeo", "umoci", "zstd", "cp")
    started = time.monotonic()
    elfprune = os.path.abspath(args.elfprune)
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    # Two runs stage the image here (TMPDIR), the others where elfprune
    # chooses (/dev/shm when it has room): it must be left empty.
    tmpdir = os.path.join(work, "tmp")
    os.makedirs(tmpdir)
    debian = debian_root.root_for_test(args.root)
    imgs = fx.ensure_images(args.cache, debian)
    print(f"fixtures ready after {time.monotonic() - started:.1f} s")
    checks = pc.Checks(NAME)
    skipped = []
    podman = Podman(skipped)
    inputs = [imgs.oci_dir, imgs.oci_archive, imgs.docker_archive]
    before_inputs = stat_snapshot(inputs)

    kinds = {
        "oci": dict(inp=imgs.oci_ref, path=imgs.oci_dir, tag=fx.TAG,
                    out=os.path.join(work, "out-oci"), out_tag=OUT_TAG, extra=[]),
        "oci-archive": dict(inp=imgs.oci_archive_ref, path=imgs.oci_archive, tag=fx.TAG,
                            out=os.path.join(work, "out-oci.tar"), out_tag=OUT_TAG, extra=[]),
        "docker-archive": dict(inp=imgs.docker_archive_ref, path=imgs.docker_archive,
                               tag=fx.DOCKER_NAME, out=os.path.join(work, "out-docker.tar"),
                               out_tag=OUT_DOCKER_NAME, extra=[]),
    }
    originals = {}
    for kind, k in kinds.items():
        img = read_image(checks, f"original {kind}", kind, k["path"], k["tag"])
        if img is None:
            return pc.finish(checks, work)
        originals[kind] = img
        print(f"original {kind}: {len(img.layers)} layers of {img.layer_bytes():,} bytes "
              f"({[layer['size'] for layer in img.layers]}); {path_size(k['path']):,} bytes "
              "on disk")
    orig = originals["oci"]
    kinds["oci-archive"]["extra"] = ["--platform", f"{orig.config.get('os')}/"
                                     f"{orig.config.get('architecture')}"]
    for kind, k in kinds.items():
        k["ref"] = f"{kind}:{k['out']}:{k['out_tag']}"
        k["cmd"] = [elfprune, "prune", k["inp"], "--out", k["ref"]] + KEEP_DOCS + k["extra"] + \
            ["--json"]
    variants = {
        "keep": ["--layers", "keep"], "zstd": ["--compress", "zstd"], "none": ["--compress", "none"],
    }
    variant_out = {v: os.path.join(work, f"out-{v}") for v in variants}

    # 0. podman runs the original (else every podman check is a SKIP).
    if podman.usable:
        rc, out, err = podman.run_ref(imgs.oci_ref, orig.config_id)
        if rc == 0 and out == fx.APP_LINE:
            print(f"podman runs the original image: {out!r} (precondition)")
        else:
            podman.usable = False
            podman.why_not = (f"podman cannot run even the ORIGINAL image here (exit {rc}, "
                              f"stdout {out!r}, stderr {err[-800:]!r})")
            print(f"SKIP every podman check: {podman.why_not}")

    # Every elfprune run but the repeats, at once.
    jobs = [Job(kind, k["cmd"], True) for kind, k in kinds.items()]
    jobs += [Job(v, [elfprune, "prune", imgs.oci_ref, "--out",
                     f"oci:{variant_out[v]}:{OUT_TAG}"] + flags + KEEP_DOCS + ["--json"], True,
                 {"TMPDIR": tmpdir} if v == "none" else None)
             for v, flags in variants.items()]
    jobs += [
        Job("dry", [elfprune, "prune", imgs.oci_ref, "--dry-run"] + KEEP_DOCS + ["--json"], True),
        Job("no-config", [elfprune, "prune", imgs.oci_ref, "--dry-run", "--no-config-entries",
                          "--entry", "/usr/bin/perl", "--json"], True),
        Job("why-main", [elfprune, "why", imgs.oci_ref, "/app/main.js", "--json"], False),
        Job("why-devtool", [elfprune, "why", imgs.docker_archive_ref, fx.DEV_PACKAGE], False,
            {"TMPDIR": tmpdir}),
        Job("deps", [elfprune, "deps", "--root", imgs.oci_archive_ref, "/usr/bin/node"], False),
    ]
    done = run_jobs(jobs)

    # 1. Each transport into an image of the same kind.
    outputs, trees = {}, {}
    for kind, k in kinds.items():
        label = f"{kind} -> {kind}"
        job = done[kind]
        p, report = job.proc, job.report
        k["report"] = report
        if not checks.check(p.returncode == 0 and report is not None,
                            f"{label}: prune IN --out OUT --json exits 0 and prints JSON",
                            f"exit {p.returncode}: {p.stderr.strip()[-2000:]}"):
            continue
        check_report(checks, label, report)
        inspect_ref = k["ref"] if kind == "oci" else f"{kind}:{k['out']}"
        q = run(["skopeo", "inspect", inspect_ref], show=False)
        inspected = json.loads(q.stdout) if q.returncode == 0 else {}
        checks.check(q.returncode == 0, f"{label}: `skopeo inspect {kind}:OUT` reads it",
                     f"exit {q.returncode}, {len(inspected.get('Layers') or [])} layers, "
                     f"{q.stderr.strip()[-1000:]}")
        q = run(["skopeo", "inspect", "--config", inspect_ref], show=False)
        skopeo_config = json.loads(q.stdout) if q.returncode == 0 else {}
        q0 = run(["skopeo", "inspect", "--config", k["inp"]], show=False)
        compare_configs(checks, label, json.loads(q0.stdout) if q0.returncode == 0 else {},
                        skopeo_config)
        img = read_image(checks, label, kind, k["out"], k["out_tag"])
        if img is None:
            continue
        outputs[kind] = img
        problems = img.verify_layers()
        checks.check(not problems, f"{label}: blob digests, sizes and diff_ids are right "
                     "(read here)", "; ".join(problems) or
                     f"{[(layer['compression'], layer['diff_id']) for layer in img.layers]}")
        # docker-archive layers may be plain tars (as skopeo writes them too).
        want = ("gzip", "none") if kind == "docker-archive" else ("gzip",)
        checks.check(len(img.layers) == 1 and img.layers[0].get("compression") in want,
                     f"{label}: one layer (--layers squash), {' or '.join(want)} "
                     "(--compress gzip by default)",
                     f"{len(img.layers)} layers: {[layer.get('compression') for layer in img.layers]}")
        o = originals[kind]
        before, after = o.layer_bytes(), img.layer_bytes()
        on_disk_before, on_disk_after = path_size(k["path"]), path_size(k["out"])
        checks.check(after < before and on_disk_after < on_disk_before,
                     f"{label}: the image is smaller",
                     f"layers {before:,} -> {after:,} bytes ({after / before:.2f}); on disk "
                     f"{on_disk_before:,} -> {on_disk_after:,} ({on_disk_after / on_disk_before:.2f})"
                     f"; tree {report.get('before', {}).get('bytes')} -> "
                     f"{report.get('after', {}).get('bytes')} bytes")
        if not podman.usable:
            podman.skip(f"{label}: podman runs OUT")
        elif kind == "docker-archive":
            check_runs(checks, podman, f"{label}: `podman load` of OUT, then `podman run` prints "
                       "the app's line", podman.load_and_run(k["out"], OUT_DOCKER_NAME))
        else:
            check_runs(checks, podman, f"{label}: `podman run {kind}:OUT` prints the app's line",
                       podman.run_ref(k["ref"], img.config_id))
    if len(outputs) == 3:
        ids = {kind: img.diff_ids() for kind, img in outputs.items()}
        checks.check(len({json.dumps(v) for v in ids.values()}) == 1,
                     "the three outputs carry the same layer (the tree does not depend on the "
                     "transport)", f"{ids}")

    # The same commands again: the same bytes.
    repeat = []
    for kind, k in kinds.items():
        if kind in outputs:
            os.rename(k["out"], k["out"] + ".run1")
            repeat.append(Job(kind, k["cmd"], True))
    again = run_jobs(repeat) if repeat else {}
    for kind, job in again.items():
        k, label = kinds[kind], f"{kind} -> {kind}"
        first = k["out"] + ".run1"
        if checks.check(job.proc.returncode == 0, f"{label}: the same command again exits 0",
                        f"exit {job.proc.returncode}: {job.proc.stderr.strip()[-1000:]}"):
            h1, h2 = file_hashes(first), file_hashes(k["out"])
            differ = sorted(n for n in h1.keys() | h2.keys() if h1.get(n) != h2.get(n))
            checks.check(not differ, f"{label}: the second run's image is byte-identical",
                         f"{len(h1)} files compared" if not differ else f"differ: {differ[:8]}")
            checks.check(job.report == k["report"], f"{label}: and so is its report",
                         "" if job.report == k["report"] else "the JSON reports differ")

    # 2. The oci output, unpacked.
    if "oci" in outputs:
        bundle = os.path.join(work, "unpacked-oci")
        if umoci_unpack(checks, "oci -> oci", kinds["oci"]["out"], OUT_TAG, bundle):
            rootfs = os.path.join(bundle, "rootfs")
            check_tree(checks, "oci -> oci, unpacked", rootfs, imgs.rootfs)
            trees["squash"] = tree_listing(rootfs)
            check_against_report(checks, "oci -> oci, unpacked", trees["squash"],
                                 kinds["oci"]["report"])
            shutil.rmtree(bundle)

    # 3. --layers keep.
    label = "--layers keep"
    out_dir = variant_out["keep"]
    out_ref = f"oci:{out_dir}:{OUT_TAG}"
    job = done["keep"]
    p, report = job.proc, job.report
    if checks.check(p.returncode == 0 and report is not None, f"{label}: prune exits 0",
                    f"exit {p.returncode}: {p.stderr.strip()[-2000:]}"):
        image = check_report(checks, label, report) or {}
        img = read_image(checks, label, "oci", out_dir, OUT_TAG)
        if img is not None:
            problems = img.verify_layers()
            checks.check(not problems, f"{label}: blob digests, sizes and diff_ids are right",
                         "; ".join(problems))
            compare_configs(checks, label, orig.config, img.config)
            checks.check(len(img.layers) == len(orig.layers),
                         f"{label}: as many layers as the original",
                         f"{len(img.layers)} of {len(orig.layers)}")
            layers = image.get("layers") or []
            same, changed, wrong = [], [], []
            if len(layers) == len(orig.layers) == len(img.layers):
                for i, (info, a, b) in enumerate(zip(layers, orig.layers, img.layers)):
                    a_id, b_id = orig.diff_ids()[i], img.diff_ids()[i]
                    if info.get("removed_bytes") == 0:
                        same.append(i)
                        if a_id != b_id or a["digest"] != b["digest"]:
                            wrong.append(f"layer {i} lost nothing but is {b['digest']} "
                                         f"(diff_id {b_id}), not {a['digest']} ({a_id})")
                    else:
                        changed.append(i)
                        if a_id == b_id:
                            wrong.append(f"layer {i} lost {info.get('removed_bytes')} bytes "
                                         f"but has the original diff_id")
            checks.check(len(layers) == len(orig.layers),
                         f"{label}: the report lists one entry per layer",
                         f"{len(layers)} of {len(orig.layers)}")
            checks.check(not wrong and same and changed,
                         f"{label}: layers that lost nothing (removed_bytes 0) are the original "
                         "blobs byte for byte, the others new",
                         "; ".join(wrong) or f"unchanged {same}, rewritten {changed}")
            removed = [info.get("removed_bytes") for info in layers]
            checks.check(len(removed) == 3 and isinstance(removed[0], int) and removed[0] > 50e6
                         and isinstance(removed[1], int) and removed[1] >= DEVTOOL_BYTES
                         and removed[2] == 0,
                         f"{label}: removed_bytes: the Debian root loses most, the app layer "
                         "at least devtool, lib/message.js's layer nothing",
                         f"{removed} (devtool's table.js: {DEVTOOL_BYTES})")
            checks.check(img.layer_bytes() < orig.layer_bytes(), f"{label}: the image is smaller",
                         f"{orig.layer_bytes():,} -> {img.layer_bytes():,} bytes")
            bundle = os.path.join(work, "unpacked-keep")
            if umoci_unpack(checks, label, out_dir, OUT_TAG, bundle):
                rootfs = os.path.join(bundle, "rootfs")
                check_tree(checks, f"{label}, unpacked", rootfs, imgs.rootfs)
                trees["keep"] = tree_listing(rootfs)
                check_against_report(checks, f"{label}, unpacked", trees["keep"], report)
                if "squash" in trees:
                    a, b = trees["squash"], trees["keep"]
                    differ = sorted(n for n in a.keys() | b.keys() if a.get(n) != b.get(n))
                    checks.check(not differ, f"{label}: unpacked, the same tree as squashed "
                                 "(paths, types, modes, sizes, link targets)",
                                 f"{len(b)} entries" if not differ else
                                 f"{len(differ)} differ: " + "; ".join(
                                     f"{n}: {a.get(n)} / {b.get(n)}" for n in differ[:8]))
                shutil.rmtree(bundle)
            if podman.usable:
                check_runs(checks, podman, f"{label}: podman runs it",
                           podman.run_ref(out_ref, img.config_id))
            else:
                podman.skip(f"{label}: podman runs it")

    # 4. --compress zstd and none.
    for compression, media_end in (("zstd", "+zstd"), ("none", ".tar")):
        label = f"--compress {compression}"
        out_dir = variant_out[compression]
        out_ref = f"oci:{out_dir}:{OUT_TAG}"
        p = done[compression].proc
        if not checks.check(p.returncode == 0 and done[compression].report is not None,
                            f"{label}: prune exits 0",
                            f"exit {p.returncode}: {p.stderr.strip()[-2000:]}"):
            continue
        img = read_image(checks, label, "oci", out_dir, OUT_TAG)
        if img is None:
            continue
        problems = img.verify_layers()
        types = [layer["media_type"] for layer in img.layers]
        checks.check(not problems and all(t.endswith(media_end) for t in types)
                     and all(layer["compression"] == compression for layer in img.layers),
                     f"{label}: the layers' media type and bytes say {compression}, and their "
                     "contents match the diff_ids", "; ".join(problems) or f"{types}")
        if "oci" in outputs:
            checks.check(img.diff_ids() == outputs["oci"].diff_ids(),
                         f"{label}: the same layer contents as with gzip",
                         f"{img.diff_ids()} vs {outputs['oci'].diff_ids()}")
        q = run(["skopeo", "inspect", out_ref], show=False)
        checks.check(q.returncode == 0, f"{label}: skopeo inspect reads it",
                     f"exit {q.returncode}: {q.stderr.strip()[-1000:]}")
        if compression == "zstd":
            if podman.usable:
                check_runs(checks, podman, f"{label}: podman runs it",
                           podman.run_ref(out_ref, img.config_id))
            else:
                podman.skip(f"{label}: podman runs it")

    # 5. --dry-run, and --no-config-entries.
    job = done["dry"]
    if checks.check(job.proc.returncode == 0 and job.report is not None,
                    "--dry-run --json exits 0", f"exit {job.proc.returncode}: "
                    f"{job.proc.stderr.strip()[-2000:]}"):
        check_report(checks, "--dry-run", job.report)
        checks.check(job.report.get("mode") == "dry-run",
                     "--dry-run: the report's mode is dry-run", f"{job.report.get('mode')!r}")
        if kinds["oci"]["report"]:
            a, b = kinds["oci"]["report"], job.report
            checks.check(pc.report_paths(a, "kept") == pc.report_paths(b, "kept"),
                         "--dry-run keeps exactly what the real run kept",
                         f"{len(pc.report_paths(b, 'kept'))} / {len(pc.report_paths(a, 'kept'))}")
    job = done["no-config"]
    if checks.check(job.proc.returncode == 0 and job.report is not None,
                    "--no-config-entries --entry /usr/bin/perl --dry-run exits 0",
                    f"exit {job.proc.returncode}: {job.proc.stderr.strip()[-2000:]}"):
        report = job.report
        entries = [e.get("path") for e in (report.get("image") or {}).get("entries") or []]
        kept = pc.report_paths(report, "kept")
        checks.check("/app/main.js" not in entries and "/usr/bin/node" not in entries
                     and "/usr/bin/perl" in kept and "/usr/bin/node" not in kept,
                     "--no-config-entries: the config gives no entry (node goes, perl stays)",
                     f"image.entries {entries}, entries {report.get('entries')}, "
                     f"perl kept {'/usr/bin/perl' in kept}, node kept {'/usr/bin/node' in kept}")
    checks.check(not os.listdir(tmpdir), "no elfprune run left anything in TMPDIR (a --out "
                 "and a why staged there)", f"{sorted(os.listdir(tmpdir))[:10]}")
    hidden = sorted(n for n in os.listdir(work) if n.startswith("."))
    checks.check(not hidden, "no temporary output is left beside the outputs", f"{hidden}")

    # 6. why and deps on an image.
    p = done["why-main"].proc
    try:
        d = json.loads(p.stdout) if p.returncode == 0 else {}
    except ValueError:
        d = {}
    checks.check(p.returncode == 0 and d.get("keep") is True,
                 "`why oci:IMAGE /app/main.js --json` says kept",
                 f"exit {p.returncode}, keep {d.get('keep')}, reason {d.get('reason')!r}"
                 f"{', ' + p.stderr.strip()[-1000:] if p.returncode else ''}")
    p = done["why-devtool"].proc
    checks.check(p.returncode == 0 and "removed" in p.stdout and "devDependency" in p.stdout,
                 f"`why docker-archive:IMAGE {fx.DEV_PACKAGE}` says removed, a devDependency",
                 f"exit {p.returncode}: {(p.stdout.strip() or p.stderr.strip())[-600:]!r}")
    p = done["deps"].proc
    checks.check(p.returncode == 0 and "libnode.so" in p.stdout and "libc.so.6" in p.stdout,
                 "`deps --root oci-archive:IMAGE /usr/bin/node` lists libnode and libc",
                 f"exit {p.returncode}, {len(p.stdout.splitlines())} lines: "
                 f"{(p.stdout.strip() or p.stderr.strip())[:300]!r}")

    # 7. The inputs are as they were.
    changed, linked = input_changes(before_inputs, stat_snapshot(inputs))
    checks.check(not changed, "no run changed the input images (size and mtime of every file; "
                 "the content of those whose ctime changed)",
                 f"{len(before_inputs)} entries" if not changed else f"changed: {changed[:8]}")
    if linked:
        print(f"note: {len(linked)} input blob(s) gained a hardlink (an output reuses them by "
              f"link(); their bytes are unchanged): {linked}")

    for line in skipped:
        print(line)
    if skipped:
        print(f"{NAME}: {len(skipped)} podman checks SKIPPED (not counted as passed)")
    print(f"{NAME}: {time.monotonic() - started:.1f} s in all")
    return pc.finish(checks, work)


if __name__ == "__main__":
    sys.exit(main())
