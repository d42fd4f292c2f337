#!/usr/bin/env python3
"""e2e.prune.dry_run: `--dry-run` writes nothing and plans exactly what a
real run does.

    prune_dry_run.py --elfprune BIN --cache BUILD/npm-lambda-ric --work DIR

1. npm tree (npm_tree.py), two `cp -a` copies A and B, pruned as in
   e2e.prune.npm_lambda_ric (`--sysroot /`, no entries):
   `--dry-run --report R1.json` on A leaves A identical (every entry's
   type, mode, owner, size, mtime, link count, symlink target and content
   hash); `--in-place --report R2.json` on B; R1's `removed` paths equal
   R2's as a set, and so do `kept`; every path R2 removes is gone from B,
   and every file or symlink gone from B is in R2's `removed`.
2. A small fixture root built here from the host's dash and libc: a
   /bin/sh script (the entry) reading a config file, an unreachable
   program with a hardlink, docs, a man page, a header, a static library, a
   libtool archive, a pkg-config file, a translation, symlinks (one
   dangling), empty directories. `--dry-run` leaves it identical; `--out`
   leaves it identical too and its removed/kept sets equal the dry run's;
   OUT holds exactly the kept entries, each the same as in the root (type,
   mode, size, content, symlink target); `--in-place` on a copy removes the
   same set and gives the same tree as OUT; the entry runs chrooted in OUT.

Report paths are compared inside the pruned tree: with `--sysroot /` a
report may name them by their path in the sysroot; that prefix is removed.
"""
import argparse
import os
import shutil
import sys

import npm_tree
import prune_common as pc


def inside(paths, tree):
    """Report paths made relative to the pruned tree ("/x/y")."""
    prefix = os.path.realpath(tree)
    out = set()
    for p in paths:
        if p == prefix:
            p = "/"
        elif p.startswith(prefix + "/"):
            p = p[len(prefix):]
        out.add(p)
    return out


def compare_sets(checks, what, a, b, name_a, name_b):
    only_a, only_b = sorted(a - b), sorted(b - a)
    checks.check(not only_a and not only_b, what,
                 f"{len(a)} vs {len(b)} paths; only in {name_a}: {len(only_a)} {only_a[:5]}; "
                 f"only in {name_b}: {len(only_b)} {only_b[:5]}")


def compared(before, diff):
    """Check detail: how many entries were compared, and the differences."""
    return f"{len(before)} entries compared" + "".join("\n    " + d for d in diff)


def content_view(snap):
    """A snapshot without mtimes, owners and link counts: what a copy must
    preserve (type and mode, size, hash, symlink target, device)."""
    return {p: (d[0],) + d[5:] for p, d in snap.items()}


def check_removal(checks, label, before, tree, removed):
    """Every removed path is gone; every file/symlink gone was removed."""
    still = sorted(p for p in removed if os.path.lexists(os.path.join(tree, p.lstrip("/"))))
    checks.check(not still, f"{label}: every path the report removes is gone",
                 f"{len(removed)} removed, {len(still)} still there {still[:5]}")
    gone = sorted(p for p, d in before.items() if not d[0].startswith("d")
                  and not os.path.lexists(os.path.join(tree, p.lstrip("/"))) and p not in removed)
    checks.check(not gone, f"{label}: every file or symlink gone is listed as removed",
                 f"{len(gone)} gone without being listed {gone[:5]}")


# ------------------------------------------------------------------ npm tree

def npm_part(checks, elfprune, cache):
    print("== npm tree: --dry-run against --in-place")
    pristine = npm_tree.ensure_pristine(cache)
    a = npm_tree.scratch_copy(pristine, cache, "dry-a")
    b = npm_tree.scratch_copy(pristine, cache, "dry-b")
    r1, r2 = os.path.join(os.path.dirname(a), "r1.json"), os.path.join(os.path.dirname(b), "r2.json")
    before = pc.snapshot(a)
    print(f"npm tree: {len(before)} entries listed with content hashes")
    p = pc.run_elfprune(elfprune, ["prune", a, "--dry-run", "--sysroot", "/", "--report", r1])
    checks.check(p.returncode == 0, "npm: --dry-run exits 0", f"exit {p.returncode}")
    diff = pc.diff_snapshots(before, pc.snapshot(a))
    checks.check(not diff, "npm: --dry-run leaves the tree identical", compared(before, diff))
    p = pc.run_elfprune(elfprune, ["prune", b, "--in-place", "--sysroot", "/", "--report", r2])
    checks.check(p.returncode == 0, "npm: --in-place exits 0", f"exit {p.returncode}")
    rep1, rep2 = pc.load_report(r1), pc.load_report(r2)
    if rep1 is None or rep2 is None:
        checks.fail("npm: both reports are written and are JSON")
        return [a, b]
    removed1 = inside(pc.report_paths(rep1, "removed"), a)
    removed2 = inside(pc.report_paths(rep2, "removed"), b)
    print(f"npm: dry run removes {len(removed1)} paths, in-place {len(removed2)}")
    compare_sets(checks, "npm: the dry run's removed set equals --in-place's", removed1, removed2,
                 "dry-run", "in-place")
    compare_sets(checks, "npm: the dry run's kept set equals --in-place's",
                 inside(pc.report_paths(rep1, "kept"), a), inside(pc.report_paths(rep2, "kept"), b),
                 "dry-run", "in-place")
    check_removal(checks, "npm --in-place", before, b, removed2)
    return [a, b]


# ------------------------------------------------------------------ fixture root

SCRIPT = "#!/bin/sh\nread -r greeting < /etc/hello.conf\necho \"$greeting from hello\"\n"


def host_file(path):
    real = os.path.realpath(path)
    if not os.path.isfile(real):
        sys.exit(f"prune.dry_run: cannot build the fixture root: host file {path} missing")
    return real


def build_fixture(top):
    """A small merged-/usr root from the host's dash, true and libc."""
    def put(path, data=None, mode=0o644, copy=None):
        host = os.path.join(top, path.lstrip("/"))
        os.makedirs(os.path.dirname(host), exist_ok=True)
        if copy:
            shutil.copy2(host_file(copy), host)
        else:
            with open(host, "wb") as f:
                f.write(data if isinstance(data, bytes) else data.encode())
        os.chmod(host, mode)

    def link(path, target):
        host = os.path.join(top, path.lstrip("/"))
        os.makedirs(os.path.dirname(host), exist_ok=True)
        os.symlink(target, host)

    os.makedirs(top)
    os.chmod(top, 0o755)
    for d in ("proc", "sys", "dev", "tmp", "var/empty", "usr/lib64"):
        os.makedirs(os.path.join(top, d), exist_ok=True)
    os.chmod(os.path.join(top, "tmp"), 0o1777)
    for name, target in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"),
                         ("lib64", "usr/lib64")):
        link(name, target)
    triplet = "/usr/lib/x86_64-linux-gnu"
    put(f"{triplet}/libc.so.6", copy="/lib/x86_64-linux-gnu/libc.so.6", mode=0o755)
    put(f"{triplet}/ld-linux-x86-64.so.2", copy="/lib64/ld-linux-x86-64.so.2", mode=0o755)
    link("/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    put("/usr/bin/dash", copy="/usr/bin/dash", mode=0o755)
    link("/usr/bin/sh", "dash")
    put("/usr/bin/hello", SCRIPT, mode=0o755)
    put("/etc/hello.conf", "hi\n")
    put("/usr/bin/unused", copy="/usr/bin/true", mode=0o755)
    os.link(os.path.join(top, "usr/bin/unused"), os.path.join(top, "usr/bin/unused-too"))
    link("/usr/bin/dangling", "/nonexistent/target")
    put("/usr/share/doc/hello/README", "Hello, the program.\n" * 50)
    put("/usr/share/doc/hello/copyright", "Copyright: nobody. Licence: public domain.\n")
    put("/usr/share/man/man1/hello.1.gz", b"\x1f\x8b\x08\x00" + b"\0" * 60)
    put("/usr/include/hello.h", "int hello(void);\n")
    put(f"{triplet}/libhello.a", b"!<arch>\n")
    put(f"{triplet}/libhello.la", "# libhello.la - a libtool library file\ndlname=''\n")
    put(f"{triplet}/pkgconfig/hello.pc", "Name: hello\nVersion: 1\nDescription: hi\n")
    put("/usr/share/locale/de/LC_MESSAGES/hello.mo", b"\xde\x12\x04\x95" + b"\0" * 24)
    return ["/usr/bin/hello"]


def fixture_part(checks, elfprune, work):
    print("== fixture root: --dry-run against --out and --in-place")
    root = os.path.join(work, "root")
    entries = build_fixture(root)
    entry_args = [a for e in entries for a in ("--entry", e)]
    r1, r2, r3 = (os.path.join(work, f"r{i}.json") for i in (1, 2, 3))
    out, copy = os.path.join(work, "out"), os.path.join(work, "copy")
    pc.copy_tree(root, copy)

    before = pc.snapshot(root)
    p = pc.run_elfprune(elfprune, ["prune", root] + entry_args + ["--dry-run", "--report", r1])
    checks.check(p.returncode == 0, "fixture: --dry-run exits 0", f"exit {p.returncode}")
    diff = pc.diff_snapshots(before, pc.snapshot(root))
    checks.check(not diff, "fixture: --dry-run leaves the root identical", compared(before, diff))
    p = pc.run_elfprune(elfprune, ["prune", root] + entry_args + ["--out", out, "--report", r2])
    checks.check(p.returncode == 0, "fixture: --out exits 0", f"exit {p.returncode}")
    diff = pc.diff_snapshots(before, pc.snapshot(root))
    checks.check(not diff, "fixture: --out leaves the root identical", compared(before, diff))
    p = pc.run_elfprune(elfprune, ["prune", copy] + entry_args + ["--in-place", "--report", r3])
    checks.check(p.returncode == 0, "fixture: --in-place exits 0", f"exit {p.returncode}")
    reports = [pc.load_report(r) for r in (r1, r2, r3)]
    if None in reports or not os.path.isdir(out):
        checks.fail("fixture: three reports and OUT written")
        return
    removed = [pc.report_paths(r, "removed") for r in reports]
    kept = [pc.report_paths(r, "kept") for r in reports]
    print(f"fixture: {len(before)} entries; dry run removes {sorted(removed[0])}")
    checks.check(bool(removed[0]) and "/usr/bin/unused" in removed[0] and "/usr/bin/hello" in kept[0],
                 "fixture: the dry run removes something, /usr/bin/unused among it, and keeps the entry")
    compare_sets(checks, "fixture: the dry run's removed set equals --out's", removed[0], removed[1],
                 "dry-run", "out")
    compare_sets(checks, "fixture: the dry run's kept set equals --out's", kept[0], kept[1],
                 "dry-run", "out")
    compare_sets(checks, "fixture: the dry run's removed set equals --in-place's", removed[0],
                 removed[2], "dry-run", "in-place")

    # OUT holds the kept entries, each as it is in the root.
    out_snap = pc.snapshot(out)
    wrong = []
    for p_, d in out_snap.items():
        if p_ not in before:
            wrong.append(f"{p_} is not in the root")
        elif content_view({p_: d}) != content_view({p_: before[p_]}):
            wrong.append(f"{p_} differs: {content_view({p_: d})[p_]} vs {content_view({p_: before[p_]})[p_]}")
    checks.check(not wrong, "fixture: every entry of OUT is the root's, same type, mode, size, "
                            "content and target", "; ".join(wrong[:8]))
    not_dirs_out = {p_ for p_, d in out_snap.items() if not d[0].startswith("d")}
    not_dirs_kept = {p_ for p_ in kept[1] if p_ in before and not before[p_][0].startswith("d")}
    compare_sets(checks, "fixture: the files and symlinks of OUT are exactly the kept ones",
                 not_dirs_out, not_dirs_kept, "OUT", "kept")
    print(f"fixture: OUT holds {len(out_snap)} entries; its files and symlinks: {sorted(not_dirs_out)}")
    check_removal(checks, "fixture --in-place", before, copy, removed[2])
    in_place = content_view(pc.snapshot(copy))
    diff = pc.diff_snapshots(content_view(out_snap), in_place)
    checks.check(not diff, "fixture: --in-place gives the same tree as --out", "; ".join(diff))

    pc.prepare_mountpoints(out)
    pc.check_workload(checks, "fixture: the entry runs chrooted in OUT", out, ["/usr/bin/hello"],
                      "hi from hello")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--cache", required=True, help="the cache directory of npm_tree.py")
    ap.add_argument("--work", required=True, help="scratch directory (emptied first)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root("prune.dry_run")
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    checks = pc.Checks("prune.dry_run")
    fixture_part(checks, args.elfprune, work)
    scratch = npm_part(checks, args.elfprune, args.cache)
    status = checks.finish()
    if status == 0:
        shutil.rmtree(work, ignore_errors=True)
        for tree in scratch:
            npm_tree.remove_scratch(tree)
    else:
        kept = " ".join([work] + [os.path.dirname(t) for t in scratch])
        print(f"left for inspection (removed by the next run): {kept}")
    return status


if __name__ == "__main__":
    sys.exit(main())
