#!/usr/bin/env python3
"""e2e.prune.in_place_sigkill: `prune --in-place` killed with SIGKILL at
several points on the npm tree of e2e.prune.npm_lambda_ric (~7,100
removals), then run again, ends exactly where an uninterrupted run ends, and
no file that run keeps is ever lost on the way.

    prune_in_place_sigkill.py --elfprune BIN --cache BUILD/npm-lambda-ric

The kill points are deterministic, with no hook in elfprune: strace's fault
injection delivers SIGKILL to elfprune when it enters the Nth call of a given
system call (`-e inject=unlinkat:signal=KILL:when=N`), before that call runs.
The reference run is traced to learn the sequence of unlinkat calls (the
stale-journal checks, one per removal, the journal's own removal), so
"the k-th removal" is an exact call number. Points:
  - planning: the 300th openat, long before anything is written;
  - journal written but not yet renamed into place (the first rename);
  - before the 1st, 1%, 30%, 70%, 99% and last removal;
  - after every removal, before the journal itself is removed.

On a fresh `cp -a` copy for each point:
1. elfprune died of SIGKILL;
2. exactly k-1 entries are gone (the kill fell where intended), and every
   entry the reference run kept is there and unchanged (type, mode, owner,
   size, content hash or link target);
3. `prune --in-place` again exits 0, and the tree is exactly the reference
   (every path, type, mode, owner, size, content hash, link target; no
   journal left);
4. once: a third run is a no-op (nothing removed, tree unchanged).
"""
import argparse
import hashlib
import os
import re
import stat
import subprocess
import sys

import npm_tree
import prune_common as pc

JOURNAL = ".elfprune-in-place"
JOURNAL_TEMP = ".elfprune-in-place.tmp"
TIMEOUT = 600
_UNLINKAT = re.compile(r'^\d+\s+unlinkat\(\d+, "((?:[^"\\]|\\.)*)"')


def shape(tree):
    """{path: description} of every entry: type and mode, owner, size and
    content hash or link target. Directory mtimes are left out: removing a
    child changes them, at a different moment in every run."""
    out = {}
    for rel, host, st in pc.walk(tree):
        d = (stat.filemode(st.st_mode), st.st_uid, st.st_gid)
        if stat.S_ISREG(st.st_mode):
            with open(host, "rb") as f:
                d += (st.st_size, hashlib.sha256(f.read()).hexdigest())
        elif stat.S_ISLNK(st.st_mode):
            d += (os.readlink(host),)
        out[rel] = d
    return out


def prune_cmd(elfprune, tree):
    return [elfprune, "prune", tree, "--in-place", "--sysroot", "/"]


def traced_run(elfprune, tree, trace, calls, inject=None):
    """Run prune --in-place under strace, tracing `calls`; with inject
    (syscall, n), SIGKILL on entering the n-th such call. Returns the exit
    status strace passes on (-9: elfprune died of SIGKILL)."""
    cmd = ["strace", "-f", "-qq", "-o", trace, "-e", f"trace={calls}"]
    if inject:
        cmd += ["-e", f"inject={inject[0]}:signal=KILL:when={inject[1]}"]
    cmd += ["--"] + prune_cmd(elfprune, tree)
    print(f"$ {' '.join(cmd)}", flush=True)
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, timeout=TIMEOUT,
                              env=pc.traced_env()).returncode
    except subprocess.TimeoutExpired:
        return None


def unlinkat_sequence(trace):
    """Names passed to unlinkat, in call order."""
    with open(trace, errors="replace") as f:
        return [m[1] for m in map(_UNLINKAT.match, f) if m]


def kept_intact(checks, label, reference, now):
    lost = sorted(p for p, d in reference.items() if now.get(p) != d)
    return checks.check(not lost, f"{label}: every entry the reference keeps is there, unchanged",
                        f"{len(lost)} lost or changed: {lost[:5]}" if lost else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--cache", required=True, help="the cache directory of npm_tree.py")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_tools("prune.in_place_sigkill", "strace")
    pristine = npm_tree.ensure_pristine(args.cache)
    checks = pc.Checks("prune.in_place_sigkill")
    original = shape(pristine)

    # The reference: one uninterrupted run, traced to number its removals.
    ref_tree = npm_tree.scratch_copy(pristine, args.cache, "sigkill-reference")
    ref_trace = os.path.join(os.path.dirname(ref_tree), "trace")
    rc = traced_run(args.elfprune, ref_tree, ref_trace, "unlinkat")
    if not checks.check(rc == 0, "reference: uninterrupted prune --in-place exits 0", f"exit {rc}"):
        return checks.finish()
    reference = shape(ref_tree)
    calls = unlinkat_sequence(ref_trace)
    removals = [i + 1 for i, name in enumerate(calls) if name not in (JOURNAL, JOURNAL_TEMP)]
    removed = len(original) - len(reference)
    print(f"reference: {len(original)} entries before, {len(reference)} after; "
          f"{len(calls)} unlinkat calls, {len(removals)} of them removals")
    checks.check(removals and len(removals) == removed and
                 removals == list(range(removals[0], removals[-1] + 1)) and
                 calls[removals[-1]:] == [JOURNAL],
                 "reference: one unlinkat per removed entry, in one run, then the journal's",
                 f"{len(removals)} removal calls for {removed} entries gone")
    npm_tree.remove_scratch(ref_tree)
    if checks.failed:
        return checks.finish()

    n = len(removals)
    points = [("planning (300th openat)", ("openat", 300), 0, False),
              ("journal written, not yet renamed", ("renameat,renameat2", 1), 0, False)]
    for label, k in (("1st", 1), ("1%", n // 100), ("30%", 3 * n // 10), ("70%", 7 * n // 10),
                     ("99%", 99 * n // 100), ("last", n)):
        points.append((f"before the {label} removal ({k} of {n})",
                       ("unlinkat", removals[0] + k - 1), k - 1, True))
    points.append(("after every removal, before the journal's", ("unlinkat", removals[-1] + 1), n,
                   True))

    for i, (label, inject, gone, journal) in enumerate(points):
        tree = npm_tree.scratch_copy(pristine, args.cache, f"sigkill-{i}")
        trace = os.path.join(os.path.dirname(tree), "trace")
        rc = traced_run(args.elfprune, tree, trace, inject[0], inject)
        checks.check(rc == -9, f"{label}: elfprune died of SIGKILL", f"exit {rc}")
        now = shape(tree)
        missing = len(original.keys() - now.keys())
        checks.check(missing == gone, f"{label}: exactly {gone} entries are gone",
                     f"{missing} gone")
        kept_intact(checks, label, reference, now)
        has_journal = f"/{JOURNAL}" in now
        checks.check(has_journal == journal,
                     f"{label}: the journal is {'there' if journal else 'not there'}")
        if inject[0].startswith("rename"):
            checks.check(f"/{JOURNAL_TEMP}" in now, f"{label}: the temp journal is there")
        p = pc.run_elfprune(args.elfprune, prune_cmd(args.elfprune, tree)[1:], timeout=TIMEOUT)
        checks.check(p.returncode == 0, f"{label}: the next run exits 0", f"exit {p.returncode}")
        if journal:
            checks.check("finished the interrupted --in-place run" in p.stdout,
                         f"{label}: the next run says it finished the interrupted one")
        after = shape(tree)
        diff = pc.diff_snapshots(reference, after)
        checks.check(not diff, f"{label}: the result is exactly the uninterrupted one",
                     "\n    " + "\n    ".join(diff) if diff else "")
        if i == len(points) // 2:
            p = pc.run_elfprune(args.elfprune, prune_cmd(args.elfprune, tree)[1:],
                                timeout=TIMEOUT)
            checks.check(p.returncode == 0 and "removed: 0 B in 0 files" in p.stdout and
                         shape(tree) == after, f"{label}: a third run is a no-op")
        if not checks.failed:
            npm_tree.remove_scratch(tree)
    status = checks.finish()
    if status != 0:
        print(f"left for inspection (removed by the next run): {os.getcwd()}/scratch.sigkill-*")
    return status


if __name__ == "__main__":
    sys.exit(main())
