#!/usr/bin/env python3
"""e2e.deps.bind: `elfprune deps --bind` finds exactly the symbols the real
loader cannot bind, executing nothing.

    bind_check.py --elfprune BIN --root DIR --work DIR

1. Every dynamic ELF file of the Debian root (debian_root.py; DIR is built
   by debootstrap if needed): the root's own `ldd -r FILE`, run chrooted
   (it binds every symbol with the root's ld.so, as LD_BIND_NOW does, and
   runs nothing of FILE), against one `elfprune deps --bind --json` over
   all of them. For each file, as sets: the undefined symbols (symbol,
   version or "", needed by), from ldd's "undefined symbol: S[, version V]"
   and "symbol S version V not defined in file L with link time
   reference", and the missing versions (version, required by), from
   "version `V' not found". Every file must agree, and any other line from
   ldd (a loader assertion, say) or a failing ldd is a difference. Some
   files must have undefined symbols (Python and Perl extensions, bound
   alone), so the check cannot pass vacuously, and deps exits 1.
2. Plugins (--host): each Python extension of lib-dynload bound with
   --host PYTHON (the real path of /usr/bin/python3) and each Perl XS
   module (perl/5.36.0/auto and perl-base/auto) with --host /usr/bin/perl
   has no undefined symbol and deps exits 0, though each has some alone
   (part 1: PyExc_* among them). The real loader agrees: PYTHON dlopens
   every extension with RTLD_NOW (ctypes) and perl every XS module
   (DynaLoader, PERL_DL_NONLAZY=1), chrooted; and the other way round (an
   extension in perl, an XS module in python) both the loader and deps
   refuse, naming a symbol deps lists.
3. The tiny root of version_check.py (the host's ld.so and libc, and
   /usr/bin/prog calling f2@VER_2 of libver.so.1) in five states, each
   against what ldd -r does (the loader run chrooted with
   LD_TRACE_LOADED_OBJECTS=1 LD_WARN=yes LD_BIND_NOW=yes) and the program
   run with LD_BIND_NOW=1:
     - good: it runs; deps --bind lists nothing and exits 0;
     - nosym: libver.so.1 with the same versions but without f2: the
       version check passes, binding fails ("symbol lookup error"); deps
       lists f2, VER_2 of libver.so.1, needed by /usr/bin/prog, described
       as the loader describes it, and exits 1;
     - old: VER_2 missing (version_check.py): both say so, and f2;
     - unversioned: libver.so.1 without version information: the loader
       aborts binding f2 (an assertion in dl-lookup.c); deps must fail too;
     - moved: as nosym, but libver.so.1 needs libalt.so.1, which defines
       f2 under VER_2: the loader binds f2 there (a versioned lookup does
       not stop at the library its version names) and the program runs;
       deps must list nothing.
"""
import argparse
import concurrent.futures
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import debian_root
import version_check as vc
from elf_files import dynamic_elf_files
from loader_compare import realpath_in
from prune_common import Checks

# ldd -r's lines (ldd merges the loader's stderr into its stdout).
UNDEFINED = re.compile(r"^undefined symbol: ([^,\t]+)(?:, version (\S+))?\t\((.*)\)$")
NOT_IN_FILE = re.compile(r"^symbol (\S+) version (\S+) not defined in file (\S+) "
                         r"with link time reference\t\((.*)\)$")
NO_VERSION = re.compile(r"version `([^']+)' not found \(required by (.*)\)$")
# Lines that say nothing about binding: the listing, and glibc's warning.
LISTING = [re.compile(r"^\t\S+ => "), re.compile(r"^\t\S+ \(0x[0-9a-f]+\)$"),
           re.compile(r"^\tstatically linked$"),
           re.compile(r"no version information available \(required by ")]
# dlopen's error for a symbol it cannot bind.
DLERROR = re.compile(r"undefined symbol: ([^,\s]+)(?:, version (\S+))?")


# glibc 2.36 aborts when a versioned reference finds its symbol in the
# library the version names and that library has no version information
# (check_match); deps says so with library_unversioned. Both sides map it
# to this entry (the loader's message names no symbol).
ABORT = ("<check_match assertion>", "", "")
ASSERTION = re.compile(r"dl-lookup\.c: \d+: check_match: Assertion `version->filename == NULL")


def parse_ldd(text):
    """(undefined {(symbol, version or "", needed_by)} (ABORT for the
    loader's assertion), missing versions {(version, required_by)}, lines
    not understood, "not defined in file" seen)."""
    undefined, versions, other, not_in_file = set(), set(), [], False
    for line in text.splitlines():
        if ASSERTION.search(line):
            undefined.add(ABORT)
        elif m := UNDEFINED.match(line):
            undefined.add((m[1], m[2] or "", m[3]))
        elif m := NOT_IN_FILE.match(line):
            undefined.add((m[1], m[2], m[4]))
            not_in_file = True
        elif m := NO_VERSION.search(line):
            versions.add((m[1], m[2]))
        elif line.strip() and not any(p.search(line) for p in LISTING):
            other.append(line)
    return undefined, versions, other, not_in_file


def ldd_r(root, file):
    """The root's own ldd -r, chrooted: (exit status, output)."""
    p = subprocess.run(["chroot", root, "/usr/bin/ldd", "-r", file], capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout + p.stderr


def ldd_r_recipe(root, file):
    """What ldd -r does, in a root without ldd (or bash): the root's loader
    run chrooted with ldd's variables. chroot(2) in the child, so that the
    host's chroot(1) is not itself traced. (exit status, output)."""
    env = {"LD_TRACE_LOADED_OBJECTS": "1", "LD_WARN": "yes", "LD_BIND_NOW": "yes",
           "PATH": "/usr/bin:/bin"}

    def enter():
        os.chroot(root)
        os.chdir("/")

    p = subprocess.run([vc.LOADER, file], preexec_fn=enter, env=env, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout + p.stderr


def deps_bind(elfprune, root, files, host=None):
    """One `elfprune deps --bind --json` over `files`: (exit status, parsed
    document or None, stderr). Prints the command (files counted), exit
    status and time."""
    cmd = [elfprune, "deps", "--bind", "--json", "--root", root]
    if host:
        cmd += ["--host", host]
    shown = shlex.join(cmd) + (f" {shlex.quote(files[0])}" if len(files) == 1
                               else f" <{len(files)} files>")
    start = time.monotonic()
    p = subprocess.run(cmd + files, capture_output=True, text=True, timeout=600,
                       stdin=subprocess.DEVNULL)
    err_lines = p.stderr.splitlines()
    print(f"$ {shown}\n  exit {p.returncode} in {time.monotonic() - start:.1f} s, "
          f"{len(err_lines)} lines on stderr")
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        print(f"  stdout is not JSON: {p.stdout[:300]!r}")
        doc = None
    return p.returncode, doc, p.stderr


def by_file(doc):
    """{file: (undefined {(symbol, version or "", needed_by)}, missing
    versions {(version, needed_by)}, the undefined entries)}."""
    out = {}
    for o in doc.get("objects", []):
        und = o.get("undefined", [])
        out[o["file"]] = ({ABORT if u.get("library_unversioned") else
                           (u["symbol"], u["version"] or "", u["needed_by"]) for u in und},
                          {(v["version"], v["needed_by"]) for v in o.get("missing_versions", [])},
                          und)
    return out


def few(items, n=8):
    items = sorted(items)
    return repr(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def check_debian_root(c, elfprune, root):
    """Part 1; returns elfprune's and ldd's findings per file for part 2."""
    files = dynamic_elf_files(root)
    if not files:
        sys.exit(f"bind: no dynamic ELF files found in {root}")
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        oracle = dict(zip(files, pool.map(lambda f: ldd_r(root, f), files)))
    print(f"ldd -r chrooted on {len(files)} files in {time.monotonic() - start:.1f} s")
    status, doc, stderr = deps_bind(elfprune, root, files)
    if doc is None:
        c.fail("bind: deps --bind --json over the root's files parses", stderr[:300])
        return {}, {}
    ours = by_file(doc)
    agree, differ, with_undefined = 0, 0, 0
    ldd = {}
    for f in files:
        rc, text = oracle[f]
        want_u, want_v, other, _ = parse_ldd(text)
        ldd[f] = want_u
        with_undefined += bool(want_u)
        got = ours.get(f)
        problems = []
        if got is None:
            problems.append("deps lists no object for it")
        else:
            if got[0] != want_u:
                problems.append(f"undefined only per deps {few(got[0] - want_u)}, "
                                f"only per ldd -r {few(want_u - got[0])}")
            if got[1] != want_v:
                problems.append(f"missing versions per deps {few(got[1])}, per ldd -r {few(want_v)}")
        if rc != 0:
            problems.append(f"ldd -r exit {rc}")
        if other:
            problems.append(f"ldd -r also said {few(other, 5)}")
        if problems:
            differ += 1
            print(f"DIFFER {f}: " + "; ".join(problems))
        else:
            agree += 1
    print(f"bind: {len(files)} files, {with_undefined} with undefined symbols (ldd -r), "
          f"{agree} agree, {differ} differ")
    c.check(differ == 0, "bind: deps --bind agrees with ldd -r on every dynamic ELF file of the root",
            f"{agree} of {len(files)} agree")
    c.check(with_undefined > 0, "bind: some files have undefined symbols per ldd -r (not vacuous)",
            f"{with_undefined} files")
    c.check(status == 1 and not doc.get("errors"), "bind: deps exits 1, and no file is an error",
            f"exit {status}, errors {few(doc.get('errors', []), 3)}")
    return ours, ldd


DLOPEN = {
    # Each prints "OK\tFILE" or "FAIL\tFILE\tdlerror" per FILE.
    "python": ["-I", "-S", "-c", """
import ctypes, os, sys
for f in sys.argv[1:]:
    try:
        ctypes.CDLL(f, mode=os.RTLD_NOW)
        print("OK\\t" + f)
    except OSError as e:
        print("FAIL\\t" + f + "\\t" + str(e).replace("\\n", " "))
"""],
    "perl": ["-e", """
require DynaLoader;
for my $f (@ARGV) {
    if (DynaLoader::dl_load_file($f, 0)) { print "OK\\t$f\\n" }
    else { my $e = DynaLoader::dl_error(); $e =~ s/\\n/ /g; print "FAIL\\t$f\\t$e\\n" }
}
"""],
}


def dlopen_in(root, kind, prog, files):
    """The real loader as PROG's dlopen of each file, RTLD_NOW, chrooted:
    {file: None if it loads, else dlerror}."""
    env = dict(os.environ, PERL_DL_NONLAZY="1")
    p = subprocess.run(["chroot", root, prog] + DLOPEN[kind] + files, capture_output=True,
                       text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
    said = {}
    for line in p.stdout.splitlines():
        parts = line.split("\t", 2)
        if len(parts) >= 2 and parts[0] in ("OK", "FAIL"):
            said[parts[1]] = None if parts[0] == "OK" else (parts[2] if len(parts) > 2 else "")
    missing = [f for f in files if f not in said]
    if p.returncode != 0 or missing:
        print(f"  {prog} exit {p.returncode}, no answer for {few(missing, 3)}; "
              f"stderr {p.stderr.strip()[:300]!r}")
    return said


def check_host(c, elfprune, root, name, prog, files, expect_clean):
    """deps --bind --host PROG over `files` against PROG's own dlopen."""
    status, doc, stderr = deps_bind(elfprune, root, files, host=prog)
    if doc is None:
        c.fail(f"{name}: deps --bind --host {prog} --json parses", stderr[:300])
        return
    ours = by_file(doc)
    loader = dlopen_in(root, "python" if "python" in prog else "perl", prog, files)
    disagree, with_undefined = [], []
    for f in files:
        got = ours.get(f, (None, None, []))
        if got[0]:
            with_undefined.append(f)
            if expect_clean:
                print(f"  {name}: deps lists for {f}: {few(got[0], 5)}")
        said = loader.get(f, "no answer")
        if said is None:
            ok = got[0] == set() and got[1] == set()
        else:
            m = DLERROR.search(said)
            ok = bool(m) and any((s, v) == (m[1], m[2] or "") for s, v, _ in (got[0] or ()))
        if not ok:
            disagree.append(f"{f}: the loader: {said or 'loads'}; deps: "
                            f"{few(got[0] or (), 5)} {few(got[1] or (), 3)}")
    for d in disagree:
        print(f"DIFFER {d}")
    loads = sum(1 for f in files if loader.get(f, "") is None)
    print(f"{name}: {len(files)} files, {loads} loaded by {prog}'s dlopen (RTLD_NOW), "
          f"{len(with_undefined)} with undefined symbols per deps --host, {len(disagree)} differ")
    c.check(not disagree, f"{name}: deps --bind --host {prog} agrees with {prog}'s dlopen",
            f"{len(files) - len(disagree)} of {len(files)} agree")
    if expect_clean:
        c.check(not with_undefined and status == 0,
                f"{name}: with --host {prog} nothing is undefined and deps exits 0",
                f"{len(with_undefined)} files with undefined symbols, exit {status}")
    else:
        c.check(len(with_undefined) == len(files) and status == 1,
                f"{name}: with the wrong host every file has undefined symbols and deps exits 1",
                f"{len(with_undefined)} of {len(files)}, exit {status}")


def check_plugins(c, elfprune, root, ours, ldd):
    python = realpath_in(root, "/usr/bin/python3")
    perl = realpath_in(root, "/usr/bin/perl")
    pyver = os.path.basename(python)  # python3.11
    # Among the root's dynamic ELF files (each once, by its real path: not
    # through the perl/5.36 -> 5.36.0 link).
    files = sorted(ldd)
    py_mods = [f for f in files
               if re.fullmatch(rf"/usr/lib/{re.escape(pyver)}/lib-dynload/[^/]+\.so", f)]
    pl_mods = [f for f in files
               if re.fullmatch(r"/usr/lib/x86_64-linux-gnu/perl(/5\.[^/]+|-base)/auto/.+\.so", f)]
    print(f"plugins: {len(py_mods)} Python extensions for {python}, "
          f"{len(pl_mods)} Perl XS modules for {perl}")
    if not c.check(py_mods and pl_mods, "plugins: the root has Python extensions and Perl XS modules",
                   f"{len(py_mods)} and {len(pl_mods)}"):
        return
    # Alone (part 1), each has undefined symbols, per ldd -r and deps alike.
    for name, mods in (("python", py_mods), ("perl", pl_mods)):
        alone = [f for f in mods if ldd.get(f) and ours.get(f, (set(),))[0]]
        c.check(len(alone) == len(mods),
                f"{name}: bound alone, every module has undefined symbols (ldd -r and deps)",
                f"{len(alone)} of {len(mods)}")
    exc = sorted({s for f in py_mods for s, _, _ in ldd.get(f, ()) if s.startswith("PyExc_")})
    c.check(bool(exc), "python: among them PyExc_* (defined by the interpreter)", few(exc, 5))
    check_host(c, elfprune, root, "python", python, py_mods, True)
    check_host(c, elfprune, root, "perl", perl, pl_mods, True)
    check_host(c, elfprune, root, "python in perl", perl, py_mods, False)
    check_host(c, elfprune, root, "perl in python", python, pl_mods, False)


def make_moved(work):
    """The nosym root plus libalt.so.1 defining f2 under VER_2, needed by
    libver.so.1 (so it comes after libver.so.1 in the program's scope)."""
    root = vc.make_root(work, "nosym")
    root_moved = os.path.join(work, "moved")
    shutil.rmtree(root_moved, ignore_errors=True)
    os.rename(root, root_moved)
    src = os.path.join(work, "src", "moved")
    os.makedirs(src, exist_ok=True)
    libdir = os.path.join(root_moved, vc.MULTIARCH[1:])
    files = {"alt.c": "int f2(void) { return 2; }\n",
             "alt.map": "VER_2 { global: f2; local: *; };\n",
             "ver.c": vc.LIB_SOURCES["nosym"], "ver.map": vc.MAPS["nosym"]}
    for name, text in files.items():
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    alt = os.path.join(libdir, "libalt.so.1")
    for cmd in (["gcc", "-O1", "-shared", "-fPIC", "-Wl,-soname,libalt.so.1",
                 f"-Wl,--version-script={src}/alt.map", "-o", alt, f"{src}/alt.c"],
                ["gcc", "-O1", "-shared", "-fPIC", "-Wl,-soname,libver.so.1",
                 f"-Wl,--version-script={src}/ver.map", "-o", os.path.join(libdir, "libver.so.1"),
                 f"{src}/ver.c", "-Wl,--no-as-needed", alt]):
        p = vc.sh(cmd)
        if p.returncode != 0:
            raise SystemExit(f"gcc (moved): {p.stderr}")
    return root_moved


def check_fixtures(c, elfprune, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    vc.build_libs(work, ("good", "old", "unversioned", "nosym"))
    prog = "/usr/bin/prog"
    for state in ("good", "nosym", "old", "unversioned", "moved"):
        root = make_moved(work) if state == "moved" else vc.make_root(work, state)
        rc, text = ldd_r_recipe(root, prog)
        want_u, want_v, other, not_in_file = parse_ldd(text)
        run = subprocess.run(["chroot", root, prog], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, LD_BIND_NOW="1"), stdin=subprocess.DEVNULL)
        loader = (f"ldd -r exit {rc}: {text.strip()[-300:]!r}; run with LD_BIND_NOW=1: "
                  f"exit {run.returncode}, {run.stderr.strip()[:300]!r}")
        print(f"{state}: {loader}")
        status, doc, stderr = deps_bind(elfprune, root, [prog])
        if doc is None:
            c.fail(f"{state}: deps --bind --json parses", stderr[:300])
            continue
        obj = doc["objects"][0]
        und, miss = obj.get("undefined", []), obj.get("missing_versions", [])
        said = f"deps: exit {status}, undefined {json.dumps(und)}, missing_versions {json.dumps(miss)}"
        print(f"  {said}; stderr {stderr.strip()[:300]!r}")
        got_u, got_v, _ = by_file(doc)[prog]
        loader_fails = rc != 0 or bool(want_u or want_v or other) or run.returncode != 0
        c.check(got_u == want_u and got_v == want_v and (status == 1) == loader_fails,
                f"{state}: deps --bind agrees with ldd -r (undefined, missing versions, failing)",
                f"ldd -r: undefined {few(want_u)}, missing {few(want_v)}, other {few(other, 3)}, "
                f"exit {rc}; {said}")
        if state == "good":
            c.check(run.returncode == 0 and not und and not miss and status == 0,
                    f"{state}: the program runs with LD_BIND_NOW=1; deps lists nothing and exits 0",
                    f"run exit {run.returncode}; {said}")
        elif state == "nosym":
            c.check("symbol lookup error" in run.stderr and re.search(
                        r"undefined symbol: f2, version VER_2|symbol f2 version VER_2 not defined",
                        run.stderr) and run.returncode != 0,
                    f"{state}: the real loader with LD_BIND_NOW=1 fails to bind f2 (VER_2)",
                    run.stderr.strip()[:200])
            listing = vc.sh(["chroot", root, vc.LOADER, "--list", prog])
            c.check(listing.returncode == 0 and "not found" not in listing.stdout + listing.stderr
                    and not miss,
                    f"{state}: the version check passes (ld.so --list) and deps lists no missing version",
                    f"--list exit {listing.returncode}; missing_versions {json.dumps(miss)}")
            fields = [{k: u.get(k) for k in ("symbol", "version", "library", "needed_by")} for u in und]
            c.check(fields == [{"symbol": "f2", "version": "VER_2", "library": "libver.so.1",
                                "needed_by": prog}] and status == 1,
                    f"{state}: deps lists exactly f2, VER_2 of libver.so.1, needed by {prog}, and exits 1",
                    said)
            # Older glibc stopped a versioned lookup at the library its
            # version names ("symbol f2 version VER_2 not defined in file
            # libver.so.1 with link time reference"); 2.36 goes on and says
            # "undefined symbol", as deps does.
            c.check("undefined symbol: f2, version VER_2" in run.stderr and
                    "undefined symbol: f2, version VER_2" in stderr,
                    f"{state}: deps describes it as the loader does (undefined symbol: f2, version VER_2)",
                    f"the loader: {run.stderr.strip()[:200]!r}; deps: {stderr.strip()[:200]!r}")
        elif state == "unversioned":
            c.check(run.returncode != 0 and "dl-lookup.c" in run.stderr + text,
                    f"{state}: the real loader aborts binding f2 (assertion in dl-lookup.c)",
                    loader)
            c.check([(u.get("symbol"), u.get("version"), u.get("library"), u.get("library_unversioned"))
                     for u in und] == [("f2", "VER_2", "libver.so.1", True)] and status == 1,
                    f"{state}: deps lists f2 (VER_2 of libver.so.1, which has no version "
                    f"information) and exits 1", said)
        elif state == "moved":
            debug = subprocess.run(
                [vc.LOADER, prog], env={"LD_DEBUG": "bindings", "LD_BIND_NOW": "1"},
                preexec_fn=lambda: (os.chroot(root), os.chdir("/")),
                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
            bound = [line.split(":", 1)[-1].strip() for line in debug.stderr.splitlines()
                     if "`f2'" in line]
            # deps must list nothing and exit 0: the agreement check above.
            c.check(run.returncode == 0 and any("libalt.so.1" in b for b in bound),
                    f"{state}: the real loader binds f2 (VER_2) in libalt.so.1 and the program runs",
                    f"run exit {run.returncode}; {bound}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if os.geteuid() != 0:
        sys.exit("bind: debootstrap and chroot need root; run the end-to-end tests as root")
    elfprune = os.path.abspath(a.elfprune)
    root = debian_root.root_for_test(a.root)
    c = Checks("e2e.deps.bind")
    ours, ldd = check_debian_root(c, elfprune, root)
    check_plugins(c, elfprune, root, ours, ldd)
    check_fixtures(c, elfprune, os.path.abspath(a.work))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
