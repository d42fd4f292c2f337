#!/usr/bin/env python3
"""e2e.container.containerfile_build: a real multi-stage `podman build` that
prunes its build stage with the portable elfprune, and a `FROM scratch`
image of the result that still runs its app.

    containerfile_build.py --build-portable scripts/build-portable.sh \\
        --root CACHE/debian-root --work DIR

1. scripts/build-portable.sh builds the static elfprune and copies it into
   the build context (DIR);
2. the cached Debian 12 root (debian_root.py) is imported as a podman image
   (`tar | podman import`) tagged localhost/elfprune-e2e-debian:KEY, KEY
   made from the root's path and its debootstrap stamp, so a rebuilt root
   makes a new image; it is kept for the next run (tags of older keys are
   removed). There is no registry here: every image is made locally;
3. the portable binary alone in a `FROM scratch` image: `--help` and
   `prune / --entry /elfprune --dry-run` exit 0 (it needs nothing from the
   image: no loader, no libc, no libstdc++);
4. the app (/app/server, a python3 script: an HTTP server on loopback
   answering itself, with json, hashlib through OpenSSL, sqlite3, zlib and
   zoneinfo data) prints its expected line in the full base image (else the
   app, not elfprune, is wrong);
5. the Containerfile (CONTAINERFILE below): a build stage FROM the base
   image with the app and /elfprune, `RUN /elfprune prune / --entry
   /app/server --out /slim`, then `FROM scratch`, `COPY --from=build /slim /`,
   the app as entrypoint. `podman build` exits 0;
6. `podman run` of the final image prints exactly the app's line, nothing
   on stderr; and python3 in it can end a thread through pthread_exit()
   (THREAD_EXIT: glibc dlopen()s libgcc_s.so.1 for that, and CPython does
   it to a daemon thread still running at exit, as the app's may be), run
   in the base image first;
7. the final image, mounted (`podman image mount`): python3 is there; no
   /elfprune, no /slim, no node, no perl; nothing under /proc, /sys, /dev
   (they were mounted in the build stage: only their empty directories may
   be kept); under a quarter of the base image's size (podman's sizes).

Sizes (podman's, and the tree's regular files) are printed. Every run's
images (the final one, the scratch probe) are removed at the end; the
builds use --layers=false and --force-rm, so no intermediate image or
container is left behind.
podman runs as this machine needs: `--runtime runc` (crun's defaults need
CAP_SYS_RESOURCE), `--network none` (no registry, no network), and
nofile/nproc ulimits of 1024.
"""
import argparse
import fcntl
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import time

import debian_root
import portable_binary
import prune_common as pc

NAME = "container.containerfile_build"
BASE_REPO = "localhost/elfprune-e2e-debian"
LIMITS = ["--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
PODMAN_BUILD = ["podman", "--runtime", "runc", "build"] + LIMITS + ["--layers=false", "--force-rm"]
PODMAN_RUN = ["podman", "--runtime", "runc", "run", "--rm"] + LIMITS

APP = r'''#!/usr/bin/python3
# A tiny service: answers HTTP on loopback, and asks itself once.
import datetime, hashlib, http.client, http.server, json, sqlite3, threading, zlib, zoneinfo

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        db = sqlite3.connect(":memory:")
        db.execute("create table t (x integer)")
        db.executemany("insert into t values (?)", [(i,) for i in range(10)])
        noon = datetime.datetime(2024, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
        body = json.dumps({
            "path": self.path,
            "sum": db.execute("select sum(x) from t").fetchone()[0],
            "sha256": hashlib.new("sha256", b"abc").hexdigest()[:16],
            "zlib": len(zlib.decompress(zlib.compress(b"z" * 1000))),
            "utc": noon.astimezone(datetime.timezone.utc).strftime("%H:%M"),
        }, sort_keys=True).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.handle_request, daemon=True).start()
conn = http.client.HTTPConnection("127.0.0.1", server.server_port)
conn.request("GET", "/health")
print("app:", conn.getresponse().read().decode())
'''
EXPECT = ('app: {"path": "/health", "sha256": "ba7816bf8f01cfea", "sum": 45, '
          '"utc": "10:00", "zlib": 1000}')

# Run with `python3 -c` in the final image: a thread that ends through
# pthread_exit(), as CPython ends daemon threads still running at exit (the
# app's server thread, about one run in two). glibc dlopen()s libgcc_s.so.1
# for the unwinding; without it the process dies ("libgcc_s.so.1 must be
# installed for pthread_exit to work"). This makes that deterministic.
THREAD_EXIT = r'''
import ctypes, threading, time
libc = ctypes.CDLL("libc.so.6")
started = threading.Event()
def leave():
    started.set()
    libc.pthread_exit(None)
threading.Thread(target=leave, daemon=True).start()
started.wait()
time.sleep(0.3)
print("a thread left through pthread_exit")
'''
THREAD_EXIT_EXPECT = "a thread left through pthread_exit"

CONTAINERFILE = '''\
FROM {base} AS build
COPY app/ /app/
COPY elfprune /elfprune
RUN ["/elfprune", "prune", "/", "--entry", "/app/server", "--out", "/slim"]

FROM scratch
COPY --from=build /slim /
ENTRYPOINT ["/app/server"]
'''

PROBE_CONTAINERFILE = '''\
FROM scratch
COPY elfprune /elfprune
ENTRYPOINT ["/elfprune"]
'''


def run(cmd, timeout=900, stdin=subprocess.DEVNULL, show=True, **kw):
    """Run a command, print it, its exit status and time, and its output
    (shortened). Returns the CompletedProcess (text)."""
    print(f"$ {shlex.join(cmd)}", flush=True)
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, encoding="utf-8", errors="replace",
                           timeout=timeout, stdin=stdin, **kw)
    except subprocess.TimeoutExpired:
        print(f"  timed out after {timeout} s")
        return subprocess.CompletedProcess(cmd, -1, "", f"timed out after {timeout} s")
    print(f"  exit {p.returncode} in {time.monotonic() - start:.1f} s")
    if show or p.returncode != 0:
        for stream, mark in ((p.stdout, "|"), (p.stderr, "!")):
            lines = stream.splitlines()
            if len(lines) > 60:
                lines = lines[:45] + [f"... ({len(lines) - 55} lines) ..."] + lines[-10:]
            for line in lines:
                print(f"  {mark} {line}")
    return p


def root_key(root):
    """A key that changes when the root is rebuilt: its path and stamp."""
    stamp = os.path.join(root, debian_root.STAMP)
    h = hashlib.sha256(os.path.realpath(root).encode())
    if os.path.exists(stamp):
        with open(stamp, "rb") as f:
            h.update(f.read())
        h.update(str(os.stat(stamp).st_mtime_ns).encode())
    else:  # a development override without a stamp
        h.update(str(os.stat(root).st_mtime_ns).encode())
    return h.hexdigest()[:12]


def image_exists(ref):
    return subprocess.run(["podman", "image", "exists", ref]).returncode == 0


def image_size(ref):
    p = run(["podman", "image", "inspect", "--format", "{{.Size}}", ref], show=False)
    return int(p.stdout.strip()) if p.returncode == 0 and p.stdout.strip().isdigit() else None


def base_image(root, lock_dir):
    """The root as a podman image, imported once per root (under a lock, so
    parallel tests import it once)."""
    ref = f"{BASE_REPO}:{root_key(root)}"
    os.makedirs(lock_dir, exist_ok=True)
    with open(os.path.join(lock_dir, "podman-debian-image.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if image_exists(ref):
            print(f"base image: reusing {ref}")
            return ref
        print(f"base image: importing {root} as {ref}")
        start = time.monotonic()
        tar = subprocess.Popen(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*",
                                "--exclude=./" + debian_root.STAMP, "-C", root, "-cf", "-", "."],
                               stdout=subprocess.PIPE)
        imp = subprocess.run(["podman", "import", "--change", 'CMD ["/bin/bash"]', "-", ref],
                             stdin=tar.stdout, capture_output=True, text=True)
        tar.stdout.close()
        tar_rc = tar.wait()
        if tar_rc != 0 or imp.returncode != 0:
            subprocess.run(["podman", "rmi", "--force", ref], capture_output=True)
            sys.exit(f"{NAME}: importing the root failed: tar exit {tar_rc}, podman import exit "
                     f"{imp.returncode}: {imp.stderr.strip()[-2000:]}")
        print(f"base image: imported in {time.monotonic() - start:.1f} s")
        # Images of roots that no longer exist (older keys) only take space.
        old = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}",
                              BASE_REPO], capture_output=True, text=True).stdout.split()
        for stale in old:
            if stale != ref:
                print(f"base image: removing the stale {stale}")
                subprocess.run(["podman", "rmi", stale], capture_output=True)
        return ref


def tree_facts(top):
    """(regular files, bytes, entries under proc/sys/dev) of a mounted image."""
    files, size = pc.tree_size(top)
    inside = []
    for d in ("proc", "sys", "dev"):
        host = os.path.join(top, d)
        if os.path.isdir(host) and not os.path.islink(host):
            inside += [f"/{d}/{n}" for n in sorted(os.listdir(host))]
        elif os.path.lexists(host):
            inside.append(f"/{d} is not a directory")
    return files, size, inside


def check_final_image(checks, ref):
    p = run(["podman", "image", "mount", ref], show=False)
    top = p.stdout.strip()
    if p.returncode != 0 or not os.path.isdir(top):
        checks.fail("the final image can be mounted", f"exit {p.returncode}: {p.stderr.strip()}")
        return
    try:
        files, size, inside = tree_facts(top)
        print(f"final image tree: {files} regular files, {pc.mb(size)}")
        checks.check(os.path.exists(os.path.join(top, "usr/bin/python3")),
                     "the final image has /usr/bin/python3 (the app's interpreter)")
        for absent in ("/elfprune", "/slim", "/usr/bin/node", "/usr/bin/perl",
                       "/usr/lib/x86_64-linux-gnu/libnode.so.108"):
            checks.check(not os.path.lexists(os.path.join(top, absent.lstrip("/"))),
                         f"no {absent} in the final image")
        checks.check(not inside, "nothing under /proc, /sys, /dev in the final image",
                     f"{len(inside)} entries: {inside[:15]}" if inside else "")
    finally:
        run(["podman", "image", "unmount", ref], show=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-portable", required=True, help="scripts/build-portable.sh")
    ap.add_argument("--root", required=True, help="CACHE/debian-root (debian_root.py)")
    ap.add_argument("--work", required=True, help="scratch directory (emptied first)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root(NAME)
    pc.need_tools(NAME, "podman", "tar")
    started = time.monotonic()
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "app"))
    # The build context: the binary, the app, the Containerfiles.
    portable_binary.build(os.path.abspath(args.build_portable), os.path.join(work, "elfprune"),
                          NAME)
    root = debian_root.root_for_test(args.root)
    base = base_image(root, os.path.dirname(os.path.abspath(args.root)))
    base_bytes = image_size(base)

    checks = pc.Checks(NAME)
    server = os.path.join(work, "app", "server")
    with open(server, "w") as f:
        f.write(APP)
    os.chmod(server, 0o755)
    with open(os.path.join(work, "Containerfile"), "w") as f:
        f.write(CONTAINERFILE.format(base=base))
    with open(os.path.join(work, "Probe.containerfile"), "w") as f:
        f.write(PROBE_CONTAINERFILE)

    run_id = f"{os.getpid()}-{int(time.time())}"
    probe = f"localhost/elfprune-e2e-probe:{run_id}"
    final = f"localhost/elfprune-e2e-slim:{run_id}"
    try:
        # 3. The binary needs nothing from its image.
        p = run(PODMAN_BUILD + ["-t", probe, "-f", os.path.join(work, "Probe.containerfile"), work])
        if checks.check(p.returncode == 0, "podman build of the FROM scratch probe exits 0",
                        f"exit {p.returncode}"):
            p = run(PODMAN_RUN + [probe, "--help"], show=False)
            checks.check(p.returncode == 0 and "Usage: elfprune" in p.stdout,
                         "the portable binary runs --help in a FROM scratch container",
                         f"exit {p.returncode}, stderr {p.stderr.strip()[-500:]!r}")
            p = run(PODMAN_RUN + [probe, "prune", "/", "--entry", "/elfprune", "--dry-run"])
            checks.check(p.returncode == 0 and "entries: /elfprune" in p.stdout,
                         "the portable binary runs prune --dry-run of / in a FROM scratch container",
                         f"exit {p.returncode}")

        # 4. The app is right (in the full image).
        p = run(PODMAN_RUN + ["-v", f"{os.path.join(work, 'app')}:/app:ro", base, "/app/server"])
        if not checks.check(p.returncode == 0 and p.stdout.strip() == EXPECT,
                            "the app prints its line in the FULL base image (else the app is wrong)",
                            f"exit {p.returncode}, stdout {p.stdout.strip()!r}, expected {EXPECT!r}"):
            return checks.finish()
        p = run(PODMAN_RUN + [base, "/usr/bin/python3", "-c", THREAD_EXIT])
        if not checks.check(p.returncode == 0 and p.stdout.strip() == THREAD_EXIT_EXPECT,
                            "a thread ends through pthread_exit in the FULL base image",
                            f"exit {p.returncode}, stdout {p.stdout.strip()!r}"):
            return checks.finish()

        # 5. The real build.
        print("Containerfile:\n  " + CONTAINERFILE.format(base=base).replace("\n", "\n  "))
        build_start = time.monotonic()
        p = run(PODMAN_BUILD + ["-t", final, "-f", os.path.join(work, "Containerfile"), work],
                timeout=1200)
        build_seconds = time.monotonic() - build_start
        if not checks.check(p.returncode == 0, "podman build of the pruning Containerfile exits 0",
                            f"exit {p.returncode} after {build_seconds:.1f} s"):
            return checks.finish()

        # 6. The pruned image runs the app.
        p = run(PODMAN_RUN + [final])
        checks.check(p.returncode == 0 and p.stdout.strip() == EXPECT and not p.stderr.strip(),
                     "podman run of the FROM scratch image prints the app's line",
                     f"exit {p.returncode}, stdout {p.stdout.strip()!r}"
                     + ("" if p.stdout.strip() == EXPECT else f", expected {EXPECT!r}")
                     + (f", stderr {p.stderr.strip()[-1500:]!r}" if p.stderr.strip() else ""))

        p = run(PODMAN_RUN + ["--entrypoint", "/usr/bin/python3", final, "-c", THREAD_EXIT])
        checks.check(p.returncode == 0 and p.stdout.strip() == THREAD_EXIT_EXPECT
                     and not p.stderr.strip(),
                     "a thread ends through pthread_exit in the FROM scratch image (glibc "
                     "dlopen()s libgcc_s.so.1 for it)",
                     f"exit {p.returncode}, stdout {p.stdout.strip()!r}"
                     + (f", stderr {p.stderr.strip()[-500:]!r}" if p.stderr.strip() else ""))

        # 7. What it holds.
        final_bytes = image_size(final)
        print(f"sizes: base image {base} {pc.mb(base_bytes or 0)} ({base_bytes} bytes); "
              f"pruned image {pc.mb(final_bytes or 0)} ({final_bytes} bytes); "
              f"build {build_seconds:.1f} s")
        checks.check(final_bytes is not None and base_bytes is not None
                     and final_bytes < base_bytes / 4,
                     "the pruned image is under a quarter of the base image (podman's sizes)",
                     f"{final_bytes} of {base_bytes} bytes")
        check_final_image(checks, final)
    finally:
        for ref in (final, probe):
            if image_exists(ref):
                subprocess.run(["podman", "rmi", "--force", ref], capture_output=True)
    print(f"{NAME}: {time.monotonic() - started:.1f} s in all")
    return pc.finish(checks, work)


if __name__ == "__main__":
    sys.exit(main())
