#!/usr/bin/env python3
"""e2e.prune.live_chroot: elfprune pruning the live root it runs in, from
inside a chroot, with the kernel file systems mounted as on a running
system, into an output directory inside that root.

    prune_live_chroot.py --build-portable scripts/build-portable.sh \\
        --root CACHE/debian-root --work DIR

1. scripts/build-portable.sh builds the static elfprune, copied to DIR (the
   Debian root has no LIEF or fmt, so only a static binary runs in it);
2. LIVE = `cp -a` of the cached Debian 12 root (debian_root.py), with the
   binary as /elfprune, and mounted in it: procfs on /proc, the host's
   /sys and /dev (`mount --rbind`, made slaves so that nothing propagates
   back; /dev brings /dev/pts, /dev/shm, ...), and a tmpfs on /run holding
   a marker file;
3. `chroot LIVE /elfprune prune / --out /slim --entry /usr/bin/python3
   --report /elfprune-report.json` exits 0;
4. in LIVE/slim: /proc, /sys and /dev are empty directories with the modes
   they have in the running root (what lstat sees there: the mounted file
   system's root, procfs' and sysfs' 0555, not the 0755 of debootstrap's
   directory under the mount, which a program in the root cannot see);
   nothing of the /run tmpfs (its marker) is kept; no /slim/slim (the
   output is not part of its own input), no /elfprune; the report keeps
   nothing under /proc, /sys, /dev, /run or /slim;
5. `chroot LIVE/slim /usr/bin/python3 -c PROGRAM` (clean environment)
   prints exactly the program's line (json, hashlib through OpenSSL,
   sqlite3, zlib, decimal), run first in LIVE itself (else the program,
   not elfprune, is wrong);
6. LIVE's /usr is unchanged by the run (same files, same bytes).

Everything mounted is unmounted in a `finally` (deepest first, lazily if a
plain unmount fails); a check then says nothing is left mounted under DIR,
and DIR is deleted only through debian_root.remove_tree, which refuses a
tree that still has mounts in it. DIR is kept for inspection on failure.
"""
import argparse
import os
import shutil
import stat
import subprocess
import sys
import time

import debian_root
import portable_binary
import prune_common as pc

NAME = "prune.live_chroot"
ENV = {"PATH": "/usr/bin:/bin"}
MARKER = "elfprune-live-marker"
REPORT = "/elfprune-report.json"
KERNEL_DIRS = ("proc", "sys", "dev")

PROGRAM = r'''
import decimal, hashlib, json, sqlite3, zlib
db = sqlite3.connect(":memory:")
db.execute("create table t (x integer)")
db.executemany("insert into t values (?)", [(i,) for i in range(10)])
decimal.getcontext().prec = 20
print(json.dumps({"sum": db.execute("select sum(x) from t").fetchone()[0],
                  "sha256": hashlib.new("sha256", b"abc").hexdigest()[:16],
                  "zlib": len(zlib.decompress(zlib.compress(b"z" * 1000))),
                  "decimal": str(decimal.Decimal(1) / decimal.Decimal(7))}, sort_keys=True))
'''
EXPECT = ('{"decimal": "0.14285714285714285714", "sha256": "ba7816bf8f01cfea", "sum": 45, '
          '"zlib": 1000}')


def sh(cmd):
    print(f"$ {' '.join(cmd)}")
    subprocess.run(cmd, check=True)


def mount_kernel_fs(live):
    """Mount what a running system has; returns nothing, raises on failure
    (the caller's finally unmounts whatever was mounted)."""
    sh(["mount", "-t", "proc", "proc", os.path.join(live, "proc")])
    for d in ("sys", "dev"):
        sh(["mount", "--rbind", "/" + d, os.path.join(live, d)])
        sh(["mount", "--make-rslave", os.path.join(live, d)])
    run_dir = os.path.join(live, "run")
    sh(["mount", "-t", "tmpfs", "-o", "mode=0755,size=16m", "tmpfs", run_dir])
    with open(os.path.join(run_dir, MARKER), "w") as f:
        f.write("runtime state of the live system, on a tmpfs\n")


def unmount_all(top):
    """Unmount everything at or below top, deepest first; lazily if a plain
    unmount fails. Returns what is still mounted."""
    for point in debian_root.mounts_under(top):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)
    return debian_root.mounts_under(top)


def chroot(root, argv):
    """The command line running argv chrooted in root. chroot(8) by its
    path: the clean environment's PATH has no sbin."""
    return [shutil.which("chroot") or "/usr/sbin/chroot", root] + argv


def chroot_run(root, argv, timeout=600):
    cmd = chroot(root, argv)
    print(f"$ chroot {root} {' '.join(argv)[:200]}", flush=True)
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, encoding="utf-8", errors="replace",
                           timeout=timeout, stdin=subprocess.DEVNULL, env=ENV, cwd="/")
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, -1, "", f"timed out after {timeout} s"), timeout
    return p, time.monotonic() - start


def prune_live(checks, live):
    """Mount the kernel file systems in LIVE and run the prune from inside.
    Returns {d: mode} of /proc, /sys and /dev as the running system sees
    them (the mounted file system's root). The caller unmounts, whatever
    happens here."""
    try:
        mount_kernel_fs(live)
    except subprocess.CalledProcessError as e:
        checks.fail("the kernel file systems are mounted in the live root", str(e))
        return {}
    seen = {d: stat.S_IMODE(os.lstat(os.path.join(live, d)).st_mode) for d in KERNEL_DIRS}
    mounted = debian_root.mounts_under(live)
    print(f"mounted in the live root: {len(mounted)} mount points, e.g. "
          f"{sorted(m[len(live):] for m in mounted)[:8]}")
    p, seconds = chroot_run(live, ["/elfprune", "prune", "/", "--out", "/slim", "--entry",
                                   "/usr/bin/python3", "--report", REPORT])
    print(f"  exit {p.returncode} in {seconds:.1f} s")
    for line in p.stdout.splitlines()[:40]:
        print(f"  | {line}")
    for line in p.stderr.splitlines()[:40]:
        print(f"  ! {line}")
    checks.check(p.returncode == 0, "chroot LIVE /elfprune prune / --out /slim exits 0",
                 f"exit {p.returncode}")
    checks.check(debian_root.mounts_under(live) == mounted,
                 "the live root's mounts are as they were")
    return seen


def check_slim(checks, root, live, seen):
    slim = os.path.join(live, "slim")
    for d in KERNEL_DIRS:
        path = os.path.join(slim, d)
        want = seen.get(d)
        below = stat.S_IMODE(os.lstat(os.path.join(root, d)).st_mode)
        if not os.path.lexists(path):
            checks.fail(f"/slim/{d} is kept as an empty directory", "it is missing")
            continue
        st = os.lstat(path)
        if not checks.check(stat.S_ISDIR(st.st_mode), f"/slim/{d} is a directory",
                            stat.filemode(st.st_mode)):
            continue
        inside = sorted(os.listdir(path))
        checks.check(not inside, f"/slim/{d} is empty",
                     f"{len(inside)} entries: {inside[:15]}" if inside else "")
        checks.check(stat.S_IMODE(st.st_mode) == want, f"/slim/{d} has the live root's mode",
                     f"{stat.S_IMODE(st.st_mode):04o}; /{d} in the running root: "
                     f"{want if want is None else format(want, '04o')} (the directory under "
                     f"the mount: {below:04o})")
    marker = os.path.join(slim, "run", MARKER)
    checks.check(not os.path.lexists(marker), f"nothing of the tmpfs on /run is kept (/run/{MARKER})")
    for absent in ("/slim", "/elfprune", REPORT, "/usr/bin/node", "/usr/bin/perl"):
        checks.check(not os.path.lexists(os.path.join(slim, absent.lstrip("/"))),
                     f"no {absent} in /slim")
    report = pc.load_report(os.path.join(live, REPORT.lstrip("/")))
    if checks.check(report is not None, "the report is written and is JSON"):
        kept = pc.report_paths(report, "kept")
        bad = sorted(p for p in kept
                     if any(p.startswith(d + "/") for d in ("/proc", "/sys", "/dev", "/run", "/slim"))
                     or p == "/slim")
        checks.check(not bad, "the report keeps nothing under /proc, /sys, /dev, /run or /slim",
                     f"{len(bad)}: {bad[:15]}" if bad else f"{len(kept)} kept paths")
    files, size = pc.tree_size(slim)
    print(f"/slim: {files} regular files, {pc.mb(size)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-portable", required=True, help="scripts/build-portable.sh")
    ap.add_argument("--root", required=True, help="CACHE/debian-root (debian_root.py)")
    ap.add_argument("--work", required=True, help="scratch directory (emptied first)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root(NAME)
    pc.need_tools(NAME, "chroot", "mount", "umount", "cp")
    started = time.monotonic()
    work = os.path.abspath(args.work)
    if os.path.lexists(work):
        debian_root.remove_tree(work)  # unmounts what an interrupted run left first
    os.makedirs(work)
    binary = portable_binary.build(os.path.abspath(args.build_portable),
                                   os.path.join(work, "elfprune"), NAME)
    root = debian_root.root_for_test(args.root)
    live = os.path.join(work, "live")
    checks = pc.Checks(NAME)
    start = time.monotonic()
    subprocess.run(["cp", "-a", "--reflink=auto", root, live], check=True)
    print(f"cp -a of the root: {time.monotonic() - start:.1f} s")
    shutil.copy2(binary, os.path.join(live, "elfprune"))
    os.chmod(os.path.join(live, "elfprune"), 0o755)
    usr_before = pc.tree_size(os.path.join(live, "usr"))

    p = subprocess.run(chroot(live, ["/usr/bin/python3", "-c", PROGRAM]), capture_output=True,
                       text=True, env=ENV, cwd="/", stdin=subprocess.DEVNULL)
    if not checks.check(p.returncode == 0 and p.stdout.strip() == EXPECT,
                        "the program prints its line in the FULL root (else the program is wrong)",
                        f"exit {p.returncode}, stdout {p.stdout.strip()!r}, expected {EXPECT!r}, "
                        f"stderr {p.stderr.strip()[-1000:]!r}"):
        return checks.finish()
    seen = {}
    try:
        seen = prune_live(checks, live)
    finally:
        left = unmount_all(live)
    checks.check(not left, "nothing is left mounted under the work directory",
                 f"still mounted: {left}" if left else "")
    if left:
        # Never delete through a mount: stop here, saying what to unmount.
        checks.finish()
        sys.exit(f"{NAME}: {work} still has mounts: {left}; unmount them before deleting it")

    if os.path.isdir(os.path.join(live, "slim")):
        check_slim(checks, root, live, seen)
        slim = os.path.join(live, "slim")
        p = subprocess.run(chroot(slim, ["/usr/bin/python3", "-c", PROGRAM]),
                           capture_output=True, encoding="utf-8", errors="replace", env=ENV,
                           cwd="/", stdin=subprocess.DEVNULL, timeout=120)
        checks.check(p.returncode == 0 and p.stdout.strip() == EXPECT and not p.stderr.strip(),
                     "chroot LIVE/slim /usr/bin/python3 -c PROGRAM prints the program's line",
                     f"exit {p.returncode}, stdout {p.stdout.strip()!r}"
                     + ("" if p.stdout.strip() == EXPECT else f", expected {EXPECT!r}")
                     + (f", stderr {p.stderr.strip()[-1500:]!r}" if p.stderr.strip() else ""))
    else:
        checks.fail("LIVE/slim was written")
    usr_after = pc.tree_size(os.path.join(live, "usr"))
    checks.check(usr_after == usr_before, "the live root's /usr is unchanged (files, bytes)",
                 f"{usr_before} -> {usr_after}")
    print(f"{NAME}: {time.monotonic() - started:.1f} s in all")
    status = checks.finish()
    if status == 0:
        debian_root.remove_tree(work)
    else:
        print(f"left for inspection (nothing mounted in it): {work}")
    return status


if __name__ == "__main__":
    sys.exit(main())
