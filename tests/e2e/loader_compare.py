#!/usr/bin/env python3
"""Compare `elfprune deps --json` with what the real loader loads in a root.

    loader_compare.py --elfprune BIN --root ROOT [--loader PATH] FILE...

For each FILE (a path inside ROOT) the real loader runs chrooted into ROOT
and lists what it loads; the set of real paths (symlinks resolved inside the
root) and the set of missing names must equal those of elfprune's JSON. The
interpreter is left out of both sides. Exit status: 0 all agree, 1 otherwise.
fixtures_agree.py and debian_root_agree.py import this module.
"""
import argparse
import ctypes
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

GLIBC_LOADER = "/lib64/ld-linux-x86-64.so.2"
MUSL_LOADER = "/lib/ld-musl-x86_64.so.1"


def realpath_in(root, path, cwd="/"):
    """Resolve `path` as a process chrooted into `root` would (like realpath -m)."""
    todo = [c for c in os.path.join(cwd, path).split("/") if c][::-1]
    done = []
    links = 0
    while todo:
        part = todo.pop()
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        host = os.path.join(root, *done, part)
        if not os.path.islink(host):
            done.append(part)
            continue
        links += 1
        if links > 40:
            raise OSError(f"too many symlinks resolving {path} in {root}")
        target = os.readlink(host)
        if target.startswith("/"):
            done = []
        todo.extend([c for c in target.split("/") if c][::-1])
    return "/" + "/".join(done)


@dataclass
class Result:
    """What one side says is loaded for one file."""
    libraries: set = field(default_factory=set)  # real paths inside the root
    missing: set = field(default_factory=set)  # DT_NEEDED names not found
    error: str = ""  # set when the loader refused the file: its own words
    words: str = ""  # the loader's raw output, shown on mismatch


# `\tname => path (0x..)`, `\tname => not found`, `\tpath (0x..)`
_MAPPED = re.compile(r"^\t(.+) => (.+) \(0x[0-9a-f]+\)$")
_NOT_FOUND = re.compile(r"^\t(.+) => not found$")
_PLAIN = re.compile(r"^\t(.+) \(0x[0-9a-f]+\)$")
# musl reports each missing library on stderr and goes on.
_MUSL_MISSING = re.compile(r"^Error loading shared library (.+?): .* \(needed by .+\)$")


def _chroot(root, with_proc):
    """preexec_fn: enter `root`; with_proc mounts /proc in a private mount
    namespace (gone when the child exits) so /proc/self/exe works."""
    def enter():
        if with_proc:
            libc = ctypes.CDLL(None, use_errno=True)
            CLONE_NEWNS, MS_REC, MS_PRIVATE = 0x20000, 0x4000, 0x40000
            if libc.unshare(CLONE_NEWNS) != 0 or \
               libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0 or \
               libc.mount(b"proc", os.path.join(root, "proc").encode(), b"proc", 0, None) != 0:
                raise OSError(ctypes.get_errno(), "unshare/mount proc")
        os.chroot(root)
        os.chdir("/")
    return enter


def run_loader(root, loader, file, execute=False):
    """Run the real loader on `file` inside `root`; return its Result.

    glibc: `ld.so FILE` with LD_TRACE_LOADED_OBJECTS=1, which is what ldd does:
    `ld.so --list` stops at the first missing library (glibc 2.36), tracing
    reports each one as `not found` and goes on. musl's --list goes on anyway.
    execute=True execs FILE itself (kernel + PT_INTERP) under tracing, so that
    $ORIGIN of the executable comes from /proc/self/exe like in real use.
    """
    env = {"LD_TRACE_LOADED_OBJECTS": "1"}  # and nothing else from our env
    if execute:
        argv = [file]
    elif loader == MUSL_LOADER:
        argv, env = [loader, "--list", file], {}
    else:
        argv = [loader, file]
    proc = subprocess.run(argv, env=env, preexec_fn=_chroot(root, execute), capture_output=True,
                          text=True, errors="replace", timeout=60)
    res = Result(words=(proc.stdout + proc.stderr).strip())
    listed = False
    for line in proc.stdout.splitlines():
        if m := _NOT_FOUND.match(line):
            res.missing.add(m[1])
        elif m := (_MAPPED.match(line) or _PLAIN.match(line)):
            path = m[m.lastindex]
            if path.startswith("linux-vdso.so"):  # in the kernel, not a file
                continue
            # A path without a slash is real: an empty RPATH element means
            # cwd, and glibc then prints the bare name it opened.
            res.libraries.add(realpath_in(root, path))
        else:
            continue
        listed = True
    for line in proc.stderr.splitlines():
        if m := _MUSL_MISSING.match(line):
            res.missing.add(m[1])
            listed = True
    # glibc says "statically linked" for any object without DT_NEEDED (a
    # dynamic one too): an empty listing, not a refusal.
    listed = listed or proc.stdout.strip() == "statically linked"
    # musl exits 127 after reporting a missing library; anything else that
    # fails (a fatal error midway, say) is a refusal.
    if not listed or (proc.returncode != 0 and not res.missing):
        res.error = res.words or f"exit status {proc.returncode}"
    res.libraries.discard(realpath_in(root, loader))
    return res


def run_elfprune(elfprune, root, files):
    """One `deps --root ROOT --json FILE...` for all files: {file: object}."""
    cmd = [elfprune, "deps", "--root", root, "--json", *files]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    # 1 means something is missing, which the comparison judges by itself.
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"elfprune deps exited {proc.returncode}: {proc.stderr.strip()}")
    try:
        doc = json.loads(proc.stdout)
        return {o["file"]: o for o in doc["objects"]}
    except (ValueError, KeyError, TypeError) as e:
        raise RuntimeError(f"elfprune deps --json: unreadable output ({e}): "
                           f"{proc.stdout[:500]!r} stderr: {proc.stderr.strip()}")


def elfprune_result(root, loader, obj):
    """Result from one JSON object, plus contract problems found on the way."""
    res, problems = Result(), []
    for lib in obj.get("libraries", []):
        real = realpath_in(root, lib.get("path", ""))
        if lib.get("realpath") != real:
            problems.append(f"{lib.get('name')}: realpath {lib.get('realpath')} but path "
                            f"{lib.get('path')} resolves to {real}")
        res.libraries.add(lib.get("realpath"))
    res.missing = {m["name"] for m in obj.get("missing", [])}
    # The loader always loads itself first; it is not a resolution result.
    res.libraries.discard(realpath_in(root, loader))
    if obj.get("interpreter"):
        res.libraries.discard(realpath_in(root, obj["interpreter"]))
    return res, problems


def diff(real, ours):
    """Lines describing how elfprune's Result differs from the loader's."""
    out = []
    for label, a, b in (("library", real.libraries, ours.libraries),
                        ("missing", real.missing, ours.missing)):
        out += [f"  {label} only per ld.so:    {x}" for x in sorted(a - b)]
        out += [f"  {label} only per elfprune: {x}" for x in sorted(b - a)]
    return out


def run_loader_exec(root, loader, file, realfile):
    """run_loader(execute=True), or where a mount namespace can't be made,
    the loader on the executable's real path, which gives the same $ORIGIN."""
    try:
        return run_loader(root, loader, file, execute=True)
    except (OSError, subprocess.SubprocessError) as e:
        print(f"NOTE {file}: can't exec it with /proc mounted ({e}); "
              f"listing its real path {realfile} instead")
        return run_loader(root, loader, realfile)


def compare(root, loader, files, objects, execute=None):
    """Compare each file; print a diff per disagreement. `execute` maps files
    to run by a real exec (see run_loader) to their real paths.

    Returns (agree, disagree, refused): lists of files, and a dict of the files
    the loader would not list to what it said."""
    agree, disagree, refused = [], [], {}
    for file in files:
        if execute and file in execute:
            real = run_loader_exec(root, loader, file, execute[file])
        else:
            real = run_loader(root, loader, file)
        if real.error:
            refused[file] = real.error
            continue
        obj = objects.get(file)
        if obj is None:
            print(f"MISMATCH {file}: not in elfprune's output")
            disagree.append(file)
            continue
        ours, problems = elfprune_result(root, loader, obj)
        lines = diff(real, ours) + [f"  contract: {p}" for p in problems]
        if lines:
            print(f"MISMATCH {file}")
            print("\n".join(lines))
            print("  ld.so said:\n    " + real.words.replace("\n", "\n    "))
            disagree.append(file)
        else:
            agree.append(file)
    return agree, disagree, refused


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--loader", default=GLIBC_LOADER)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # keep order with stderr
    root = os.path.abspath(args.root)
    objects = run_elfprune(args.elfprune, root, args.files)
    agree, disagree, refused = compare(root, args.loader, args.files, objects)
    for file, said in refused.items():
        print(f"REFUSED {file}: ld.so said: {said}")
    print(f"{root}: {len(args.files)} files, {len(agree)} agree, {len(disagree)} disagree, "
          f"{len(refused)} refused by ld.so")
    return 0 if not disagree and not refused else 1


if __name__ == "__main__":
    sys.exit(main())
