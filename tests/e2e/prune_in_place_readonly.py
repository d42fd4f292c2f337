#!/usr/bin/env python3
"""e2e.prune.in_place_readonly: `prune --in-place` on a tree where some
planned removals cannot be made: a clear `elfprune: error: <path>: ...` for
each such path, everything else removed as planned, no kept file lost,
exit 1, and no journal left behind.

    prune_in_place_readonly.py --elfprune BIN --work DIR

Variants (removals planned with --drop, so that the catalogue does not
matter):
  A. as an unprivileged user (setpriv, uid 65534) owning the tree: a mode
     0555 directory holding planned removals;
  B. as root: a file and a directory with the immutable attribute (chattr
     +i); skipped, saying so, where the file system does not support it;
  C. as the unprivileged user, the pruned directory itself read-only: the
     journal cannot be written, so nothing at all is removed (exit 1).
"""
import argparse
import os
import shutil
import subprocess
import sys

import prune_common as pc

NOBODY = 65534
PLANNED = ["free/a.txt", "free/sub/b.txt", "locked/c.txt", "locked/sub/d.txt"]
KEPT = ["keep/e.txt", "locked/keep.txt", "free/keep.txt"]
DROP = ["--drop", "/free/a.txt", "--drop", "/free/sub/**", "--drop", "/locked/c.txt",
        "--drop", "/locked/sub/**"]


def make_tree(top):
    if os.path.lexists(top):
        subprocess.run(["chattr", "-R", "-i", top], capture_output=True)
        subprocess.run(["chmod", "-R", "u+rwx", top], check=True)
        shutil.rmtree(top)
    for rel in PLANNED + KEPT:
        path = os.path.join(top, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(rel + "\n")


def run(checks, label, elfprune, top, user=None):
    cmd = [elfprune, "prune", top, "--in-place"] + DROP
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
    print(f"$ {' '.join(cmd)}", flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    for line in p.stderr.splitlines():
        print(f"  ! {line}")
    checks.check(p.returncode == 1, f"{label}: exit 1", f"exit {p.returncode}")
    checks.check(not os.path.lexists(os.path.join(top, ".elfprune-in-place")),
                 f"{label}: no journal left behind")
    return p.stderr


def gone_and_kept(checks, label, top, gone, stay):
    if gone:
        left = [r for r in gone if os.path.lexists(os.path.join(top, r))]
        checks.check(not left, f"{label}: every other planned removal is made", f"left: {left}")
    lost = [r for r in stay if not os.path.isfile(os.path.join(top, r))
            or open(os.path.join(top, r)).read() != r + "\n"]
    checks.check(not lost, f"{label}: every kept file is there, unchanged", f"lost: {lost}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root("prune.in_place_readonly")
    pc.need_tools("prune.in_place_readonly", "setpriv", "chattr")
    checks = pc.Checks("prune.in_place_readonly")
    # uid 65534 must reach the trees and the binary wherever the clone lies.
    work, args.elfprune = pc.reachable_work(args.work, args.elfprune)

    # A: a read-only directory, as its unprivileged owner.
    top = os.path.join(work, "a")
    make_tree(top)
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", top], check=True)
    os.chmod(os.path.join(top, "locked"), 0o555)
    err = run(checks, "A read-only directory", args.elfprune, top, user=NOBODY)
    # /locked/sub itself is writable: d.txt goes, the directory cannot.
    for path in ("/locked/c.txt", "/locked/sub"):
        checks.check(f"elfprune: error: {path}: cannot remove: permission denied" in err,
                     f"A: the error names {path} and says why")
    gone_and_kept(checks, "A", top, ["free/a.txt", "free/sub", "locked/sub/d.txt"],
                  KEPT + ["locked/c.txt"])

    # B: immutable file and directory, as root.
    top = os.path.join(work, "b")
    make_tree(top)
    immutable = [os.path.join(top, "locked/c.txt"), os.path.join(top, "locked/sub")]
    p = subprocess.run(["chattr", "+i"] + immutable, capture_output=True, text=True)
    if p.returncode != 0:
        print(f"SKIP B (immutable attribute): chattr +i is not supported here: {p.stderr.strip()}")
    else:
        err = run(checks, "B immutable", args.elfprune, top)
        subprocess.run(["chattr", "-i"] + immutable, check=True)
        for path in ("/locked/c.txt", "/locked/sub/d.txt"):
            checks.check(f"elfprune: error: {path}: cannot remove: operation not permitted" in err,
                         f"B: the error names {path} and says why")
        gone_and_kept(checks, "B", top, ["free/a.txt", "free/sub"],
                      KEPT + ["locked/c.txt", "locked/sub/d.txt"])

    # C: the pruned directory itself read-only: no journal, so nothing removed.
    top = os.path.join(work, "c")
    make_tree(top)
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", top], check=True)
    os.chmod(top, 0o555)
    err = run(checks, "C read-only pruned directory", args.elfprune, top, user=NOBODY)
    checks.check("elfprune: error: /.elfprune-in-place.tmp: cannot create: permission denied; "
                 "nothing removed" in err, "C: the error names the journal and says nothing was removed")
    gone_and_kept(checks, "C", top, [], KEPT + PLANNED)

    # D: a ROOT the user cannot reach (a directory on the way is root's, 0700):
    # "permission denied", naming ROOT, not "not a directory".
    closed = os.path.join(work, "d-closed")
    top = os.path.join(closed, "tree")
    make_tree(top)
    os.chmod(closed, 0o700)
    cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
           args.elfprune, "prune", top, "--dry-run"]
    print(f"$ {' '.join(cmd)}", flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    print(f"  ! {p.stderr.strip()}")
    checks.check(p.returncode == 2 and p.stderr == f"elfprune: error: {top}: permission denied\n",
                 "D unreachable ROOT: exit 2, permission denied, naming ROOT",
                 f"exit {p.returncode}: {p.stderr.strip()}")
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
