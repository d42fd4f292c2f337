#!/usr/bin/env python3
"""e2e.deps.versions: `elfprune deps` finds a missing symbol version exactly
when the real loader refuses the object for it.

    version_check.py --elfprune BIN --work DIR

A tiny root made here (the host's ld.so and libc, Debian's merged /usr) with
/usr/bin/prog compiled to call f2@VER_2 of libver.so.1, in three states:
  - good: libver.so.1 defines VER_1 and VER_2;
  - old: libver.so.1 replaced by a build defining only VER_1 (the same
    soname, f2 under VER_1);
  - unversioned: libver.so.1 without any version definitions.
For each, the real loader run chrooted (`ld.so --list`, and the program
itself) against `elfprune deps --json`: the loader refuses the old one with
"version `VER_2' not found (required by /usr/bin/prog)" and deps lists that
version and exits 1; the good one loads and runs, and deps lists nothing
and exits 0. The unversioned one passes the version check with glibc's
warning "no version information available", which deps repeats (exit 0);
running it then fails at symbol binding (an assertion in glibc's
dl-lookup.c), which is binding's business (`deps --bind`), not this check's.

bind_check.py (e2e.deps.bind) builds the same root with make_root and
build_libs in a fourth state, nosym: libver.so.1 with the good versions
but without f2, so the version check passes and binding fails.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

from prune_common import Checks

LIB_C = "int f1(void) { return 1; }\nint f2(void) { return 2; }\n"
# The source of libver.so.1 where it is not LIB_C: nosym lacks f2.
LIB_SOURCES = {"nosym": "int f1(void) { return 1; }\n"}
PROG_C = "int f2(void);\nint main(void) { return f2() == 2 ? 0 : 3; }\n"
MAPS = {
    "good": "VER_1 { global: f1; local: *; };\nVER_2 { global: f2; } VER_1;\n",
    "old": "VER_1 { global: f1; f2; local: *; };\n",
}
MAPS["nosym"] = MAPS["good"]  # the same versions (VER_2 kept, now empty)
STATES = ("good", "old", "unversioned")
LOADER = "/lib64/ld-linux-x86-64.so.2"
MULTIARCH = "/usr/lib/x86_64-linux-gnu"


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def make_root(work, state):
    root = os.path.join(work, state)
    shutil.rmtree(root, ignore_errors=True)
    for d in ("usr/bin", "usr/lib/x86_64-linux-gnu", "usr/lib64"):
        os.makedirs(os.path.join(root, d))
    for d in ("bin", "lib", "lib64"):
        os.symlink(f"usr/{d}", os.path.join(root, d))
    shutil.copy2(os.path.realpath(LOADER), os.path.join(root, "usr/lib64/ld-linux-x86-64.so.2"))
    shutil.copy2(os.path.realpath(f"{MULTIARCH}/libc.so.6"), os.path.join(root, MULTIARCH[1:], "libc.so.6"))
    src = os.path.join(work, "src")
    lib = os.path.join(root, MULTIARCH[1:], "libver.so.1")
    # The program is always linked against the good library: it needs VER_2.
    good = os.path.join(src, "good", "libver.so.1")
    p = sh(["gcc", "-O1", "-o", os.path.join(root, "usr/bin/prog"), os.path.join(src, "prog.c"), good,
            f"-Wl,-rpath-link,{os.path.dirname(good)}"])
    if p.returncode != 0:
        raise SystemExit(f"gcc prog: {p.stderr}")
    shutil.copy2(os.path.join(src, state, "libver.so.1"), lib)
    return root


def build_libs(work, states=STATES):
    """Build libver.so.1 for each of `states` into WORK/src/STATE ("good"
    always: make_root links the program against it)."""
    src = os.path.join(work, "src")
    os.makedirs(src)
    with open(os.path.join(src, "prog.c"), "w") as f:
        f.write(PROG_C)
    for state in ("good",) + tuple(s for s in states if s != "good"):
        os.makedirs(os.path.join(src, state))
        source = os.path.join(src, f"{state}.c")
        with open(source, "w") as f:
            f.write(LIB_SOURCES.get(state, LIB_C))
        cmd = ["gcc", "-O1", "-shared", "-fPIC", "-Wl,-soname,libver.so.1", "-o",
               os.path.join(src, state, "libver.so.1"), source]
        if state in MAPS:
            with open(os.path.join(src, f"{state}.map"), "w") as f:
                f.write(MAPS[state])
            cmd.append(f"-Wl,--version-script={os.path.join(src, state + '.map')}")
        p = sh(cmd)
        if p.returncode != 0:
            raise SystemExit(f"gcc libver ({state}): {p.stderr}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: chroot needs root")
        return 77
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    build_libs(work)
    c = Checks("e2e.deps.versions")
    for state, refused in (("good", False), ("old", True), ("unversioned", False)):
        root = make_root(work, state)
        listing = sh(["chroot", root, LOADER, "--list", "/usr/bin/prog"])
        run = sh(["chroot", root, "/usr/bin/prog"])
        said = listing.stdout + listing.stderr + run.stderr
        loader_says = "version `VER_2' not found" in said
        detail = (f"--list exit {listing.returncode}, run exit {run.returncode}, "
                  f"says: {(listing.stderr + run.stderr).strip()[:200]!r}")
        if state == "unversioned":
            c.check(not loader_says and "no version information available" in said,
                    f"{state}: the real loader loads it, warning of no version information", detail)
        else:
            c.check(loader_says == refused and (run.returncode != 0) == refused,
                    f"{state}: the real loader {'refuses' if refused else 'loads and runs'} /usr/bin/prog",
                    detail)
        p = sh([a.elfprune, "deps", "--root", root, "--json", "/usr/bin/prog"])
        try:
            obj = json.loads(p.stdout)["objects"][0]
        except (ValueError, KeyError, IndexError):
            c.fail(f"{state}: deps --json parses", p.stdout[:200] + p.stderr[:200])
            continue
        missing = obj.get("missing_versions", [])
        want = [{"version": "VER_2", "library": "libver.so.1", "needed_by": "/usr/bin/prog"}] if refused else []
        c.check(missing == want, f"{state}: deps lists the missing versions the loader names",
                json.dumps(missing))
        c.check(p.returncode == (1 if refused else 0), f"{state}: deps exits {1 if refused else 0}",
                f"exit {p.returncode}; stderr {p.stderr.strip()[:200]!r}")
        if state == "unversioned":
            c.check(any("no version information available" in w for w in obj.get("warnings", [])),
                    f"{state}: deps warns as the loader does", json.dumps(obj.get("warnings", [])))
        if refused:
            c.check("version `VER_2' not found in libver.so.1" in p.stderr,
                    f"{state}: deps says so on stderr", p.stderr.strip()[:200])
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
