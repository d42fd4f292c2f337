#!/usr/bin/env python3
"""e2e.hostile_root: `deps` and `prune` on a root built to hurt them finish
in bounded time, never die by a signal, exit 0, 1 or 2, name every planted
problem, and never read a host file outside the root.

    hostile_root.py --elfprune BIN --work DIR

The root (generated in DIR/root each run; seeded RNG, so the same root
every time) holds /usr/bin/prog, compiled with gcc to need
  - 300 libraries lib000.so..lib299.so in /usr/lib/hostile, copies of one
    real compiled library, 270 of them mutated: truncated, bytes flipped in
    the ELF header, the program headers or the dynamic section, absurd
    offsets and counts, overlapping segments, a DT_NEEDED of itself;
  - libfifo.so (a FIFO), libdev.so (a /dev/zero device node), libloop.so
    (a symlink loop), libself.so (a symlink to itself), libabs.so and
    librel.so (an absolute and a ../../.. symlink to the marker below),
    libmarker.so (only in the marker's directory, which prog's RPATH names
    absolutely and as $ORIGIN/../../..), libdeep.so (at the bottom of a
    directory 200 levels deep, beyond PATH_MAX), libnoperm.so (mode 000);
and files named with a newline and with invalid UTF-8. A marker file with
unique random content lies OUTSIDE the root (DIR/outside-*/libmarker.so),
and prog also holds its host path as a string.

Runs, each with a time bound: `deps` (text and --json) on every ELF file of
the root; `prune --entry /usr/bin/prog` with --out, --dry-run --report, and
--in-place on a copy; the unreadable part again as an unprivileged user
(setpriv, uid 65534) on a root where mode 000 files and directories bite.
Checks: no death by signal, exit status in {0,1,2}, within the bound; each
planted problem named on stdout/stderr/report; the marker's bytes in no
stdout, stderr, report or output file; and, under `strace -f -y -e
trace=file,desc`, elfprune never names or opens a path in the marker's
directory.
"""
import argparse
import json
import os
import random
import re
import secrets
import shutil
import stat
import struct
import subprocess
import sys
import time

import prune_common as pc

SEED = 20261126
NLIBS = 300
BOUND = 120  # seconds for any one command
DEEP = 200
NOBODY = 65534
SPECIAL = ["libfifo.so", "libdev.so", "libloop.so", "libself.so", "libabs.so", "librel.so",
           "libmarker.so", "libdeep.so", "libnoperm.so"]
# What a root run is told about: all but the mode 000 file (root reads it).
ROOT_SEES = [n for n in SPECIAL if n != "libnoperm.so"]
WEIRD = ["name\nwith newline", "latin1-\xe9\udcff.txt"]  # surrogateescape: invalid UTF-8 bytes


def sh(cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------- mutations

def phdrs(data):
    """[(offset of the header, p_type, p_offset, p_filesz)] of an ELF64 LE file."""
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    out = []
    for i in range(phnum):
        at = phoff + i * phentsize
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, at)
        out.append((at, p_type, p_offset, p_filesz))
    return out


def flip(data, rng, start, end, n):
    for _ in range(n):
        i = rng.randrange(start, max(start + 1, min(end, len(data))))
        data[i] ^= 1 << rng.randrange(8)


def mutate(good, rng, kind):
    """A damaged copy of `good` (bytes); `kind` picks the damage."""
    data = bytearray(good)
    ph = phdrs(data)
    dyn = next((p for p in ph if p[1] == 2), None)  # PT_DYNAMIC
    loads = [p for p in ph if p[1] == 1]
    if kind == 0:  # truncated anywhere, from 0 bytes to just short of the end
        return bytes(data[:rng.randrange(len(data))])
    if kind == 1:
        flip(data, rng, 4, 64, rng.randint(1, 6))  # the ELF header (magic kept)
    elif kind == 2:
        flip(data, rng, ph[0][0], ph[-1][0] + 56, rng.randint(1, 12))
    elif kind == 3:
        flip(data, rng, dyn[2], dyn[2] + dyn[3], rng.randint(1, 16))
    elif kind == 4:  # absurd header offsets and counts
        field, size = rng.choice([(0x20, "Q"), (0x28, "Q"), (0x36, "H"), (0x38, "H"),
                                  (0x3a, "H"), (0x3c, "H"), (0x3e, "H")])
        struct.pack_into("<" + size, data, field, rng.choice([0, 1, 0xFFFF, 0xFFFFFFFF,
                                                              (1 << 63) - 1][:5 if size == "Q" else 3]))
    elif kind == 5:  # PT_DYNAMIC far beyond the file or of absurd size
        struct.pack_into("<Q", data, dyn[0] + 8 + rng.choice([0, 24]),
                         rng.choice([len(data) * 7, 1 << 62, 0xFFFFFFFFFFFFFFF0]))
    elif kind == 6:  # overlapping segments: PT_DYNAMIC over the ELF header, loads on each other
        struct.pack_into("<Q", data, dyn[0] + 8, 0)
        if len(loads) > 1:
            struct.pack_into("<QQ", data, loads[1][0] + 8, loads[0][2], 0)
    elif kind == 7:  # dynamic entries with absurd values (DT_STRTAB, DT_NEEDED offsets...)
        for off in range(dyn[2], dyn[2] + dyn[3], 16):
            if rng.random() < 0.5:
                struct.pack_into("<Q", data, off + 8, rng.choice([1 << 40, 0xFFFFFFFF, 7]))
    elif kind == 8:  # every dynamic tag turned into DT_NEEDED: names from garbage offsets
        for off in range(dyn[2], dyn[2] + dyn[3] - 16, 16):
            struct.pack_into("<q", data, off, 1)
    elif kind == 9:  # claims to be 32-bit, or big-endian
        data[rng.choice([4, 5])] ^= 3
    return bytes(data)


# ---------------------------------------------------------------- the root

def clean(work):
    """Remove what an earlier run left (mode 000 parts included)."""
    for name in os.listdir(work) if os.path.isdir(work) else []:
        path = os.path.join(work, name)
        subprocess.run(["chmod", "-R", "u+rwx", path], capture_output=True)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    os.makedirs(work, exist_ok=True)
    os.chmod(work, 0o755)


def build(work):
    """The marker outside the root, and the compiled program and libraries
    (in DIR/build). Returns a dict of what was made."""
    outside = os.path.join(work, f"outside-{secrets.token_hex(4)}")
    os.mkdir(outside)
    marker = os.path.join(outside, "libmarker.so")
    token = f"ELFPRUNE-MARKER-{secrets.token_hex(24)}"
    with open(marker, "w") as f:
        f.write(token + "\n")
    out = os.path.join(work, "build")
    os.mkdir(out)
    # One real library, linked under every name the program needs.
    src = os.path.join(out, "lib.c")
    with open(src, "w") as f:
        f.write("int hostile_value(int x) { return x * 3 + 1; }\nint hostile_data[64] = {1};\n")
    obj = os.path.join(out, "lib.o")
    sh(["gcc", "-c", "-fPIC", "-O1", src, "-o", obj])
    names = [f"lib{i:03d}.so" for i in range(NLIBS)] + SPECIAL
    for name in names:  # ld itself: 300 gcc drivers take most of a minute
        sh(["ld", "-shared", "-soname", name, obj, "-o", os.path.join(out, name)])
    # Needs itself: a DT_NEEDED cycle (lib001.so is also damaged below).
    sh(["ld", "-shared", "-soname", "lib001.so", obj, "-L", out, "-l:lib001.so",
        "-o", os.path.join(out, "lib001-cycle.so")])
    deep_rel = "/".join(["d" * 25] * DEEP)  # 5,200 bytes: beyond PATH_MAX as one host path
    rel_up = "$ORIGIN/../../../" + os.path.basename(outside)  # /usr/bin/../../.. = the root's parent
    rpath = ":".join(["/usr/lib/hostile", outside, rel_up, "/usr/lib/hostile/escape",
                      "/usr/lib/hostile/locked", "/" + deep_rel])
    prog_c = os.path.join(out, "prog.c")
    with open(prog_c, "w") as f:
        f.write(f'const char *where = "{marker}";\nint main(void) {{ return where[0] == 0; }}\n')
    sh(["gcc", "-o", os.path.join(out, "prog"), prog_c, "-L", out,
        "-Wl,--no-as-needed", "-Wl,--disable-new-dtags", "-Wl,-rpath," + rpath,
        "-Wl,--allow-shlib-undefined"] + [f"-l:{n}" for n in names])
    return {"build": out, "outside": outside, "marker": marker, "token": token}


def populate(root, h):
    """Lay the hostile root out at `root` (the same tree on every call: the
    RNG is seeded). Returns {inside path: mutation kind} of the damaged
    libraries."""
    out, outside, marker = h["build"], h["outside"], h["marker"]
    rng = random.Random(SEED)
    hostile = os.path.join(root, "usr/lib/hostile")
    gnu = os.path.join(root, "usr/lib/x86_64-linux-gnu")
    for d in (hostile, gnu, os.path.join(root, "usr/bin"), os.path.join(root, "lib64")):
        os.makedirs(d, exist_ok=True)
    # A glibc root, Debian style: the host's loader and libc.
    shutil.copy(os.path.realpath("/lib64/ld-linux-x86-64.so.2"),
                os.path.join(gnu, "ld-linux-x86-64.so.2"))
    shutil.copy(os.path.realpath("/lib/x86_64-linux-gnu/libc.so.6"), os.path.join(gnu, "libc.so.6"))
    os.symlink("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
               os.path.join(root, "lib64/ld-linux-x86-64.so.2"))
    os.symlink("usr/lib", os.path.join(root, "lib"))
    shutil.copy(os.path.join(out, "prog"), os.path.join(root, "usr/bin/prog"))

    good = open(os.path.join(out, "lib000.so"), "rb").read()
    mutated = {}
    for i in range(NLIBS):
        name = f"lib{i:03d}.so"
        path = os.path.join(hostile, name)
        if i % 10 == 0:
            shutil.copy(os.path.join(out, name), path)
            continue
        kind = i % 10 - 1 if i % 10 != 9 else rng.randrange(10)
        src = good if i != 1 else open(os.path.join(out, "lib001-cycle.so"), "rb").read()
        with open(path, "wb") as f:
            f.write(mutate(src, rng, kind))
        mutated[f"/usr/lib/hostile/{name}"] = kind

    os.mkfifo(os.path.join(hostile, "libfifo.so"))
    os.mknod(os.path.join(hostile, "libdev.so"), 0o644 | stat.S_IFCHR, os.makedev(1, 5))
    os.symlink("libloop2.so", os.path.join(hostile, "libloop.so"))
    os.symlink("libloop.so", os.path.join(hostile, "libloop2.so"))
    os.symlink("libself.so", os.path.join(hostile, "libself.so"))
    os.symlink(marker, os.path.join(hostile, "libabs.so"))
    os.symlink("../../../../" + os.path.basename(outside) + "/libmarker.so",
               os.path.join(hostile, "librel.so"))
    os.symlink(outside, os.path.join(hostile, "escape"))  # a directory symlink out, in the RPATH
    os.symlink("../" * 12 + outside.lstrip("/"), os.path.join(root, "usr/lib/far"))
    shutil.copy(os.path.join(out, "libnoperm.so"), os.path.join(hostile, "libnoperm.so"))
    os.chmod(os.path.join(hostile, "libnoperm.so"), 0)
    os.mkdir(os.path.join(hostile, "locked"))
    shutil.copy(os.path.join(out, "lib000.so"), os.path.join(hostile, "locked/liblocked.so"))
    os.chmod(os.path.join(hostile, "locked"), 0)
    # 200 levels, made relative to a directory fd: the host path is too long for one call.
    fd = os.open(root, os.O_DIRECTORY)
    for _ in range(DEEP):
        os.mkdir("d" * 25, dir_fd=fd)
        nfd = os.open("d" * 25, os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    with open(os.open("libdeep.so", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as f:
        f.write(open(os.path.join(out, "libdeep.so"), "rb").read())
    os.close(fd)
    weird = os.path.join(root, "usr/share/weird")
    os.makedirs(weird)
    for name in WEIRD:
        with open(os.fsencode(os.path.join(weird, name)), "w") as f:
            f.write("weird\n")
    os.makedirs(os.fsencode(os.path.join(weird, "dir\nline\udcfe")))
    return mutated


def walk(top):
    """(path inside top, lstat, dir fd, name) of every entry, through
    directory fds: the 200-level directory is too deep for one host path."""
    for dirpath, dirs, files, dfd in os.fwalk(top, follow_symlinks=False):
        rel_dir = "/" + os.path.relpath(dirpath, top) if dirpath != top else ""
        for name in sorted(dirs + files):
            yield f"{rel_dir}/{name}", os.lstat(name, dir_fd=dfd), dfd, name


def read_at(dfd, name):
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dfd)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def elf_files(root):
    return sorted(rel for rel, st, dfd, name in walk(root)
                  if stat.S_ISREG(st.st_mode) and st.st_mode & 0o444 and
                  read_at(dfd, name)[:4] == b"\x7fELF")


# ---------------------------------------------------------------- running

def short(text, n=80):
    text = text.replace("\n", "\\n")
    return text if len(text) <= n else text[:n // 2] + "..." + text[-n // 2:]


class Runner:
    def __init__(self, checks, elfprune, token, outside):
        self.checks, self.elfprune, self.token, self.outside = checks, elfprune, token, outside

    def run(self, label, args, user=None, tracer=None):
        """Run elfprune with the bound; checks signal, exit status, time and
        that the marker reaches neither stdout nor stderr. Returns
        (exit status, stdout + stderr as text)."""
        cmd = (tracer or []) + [self.elfprune] + args
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
        shown = " ".join(short(a) for a in args[:6])
        print(f"$ {label}: elfprune {shown}{' ...' if len(args) > 6 else ''}", flush=True)
        start = time.monotonic()
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=BOUND, stdin=subprocess.DEVNULL,
                               env=pc.traced_env() if tracer else None)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = None, e.stdout or b"", e.stderr or b""
        took = time.monotonic() - start
        lines = err.decode(errors="replace").splitlines()
        print(f"  exit {rc} in {took:.1f} s; {len(lines)} lines on stderr, first ones:")
        for line in lines[:5]:
            print(f"  ! {short(line, 160)}")
        self.checks.check(rc is not None, f"{label}: finishes within {BOUND} s", f"{took:.1f} s")
        self.checks.check(rc is None or rc >= 0, f"{label}: not killed by a signal", f"exit {rc}")
        self.checks.check(rc in (0, 1, 2), f"{label}: exit status 0, 1 or 2", f"exit {rc}")
        leak = self.token.encode() in out or self.token.encode() in err
        self.checks.check(not leak, f"{label}: the marker's bytes are on neither stdout nor stderr")
        return rc, (out + err).decode(errors="replace")

    def no_marker_in_tree(self, label, top):
        hits, files = [], 0
        for rel, st, dfd, name in walk(top):
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o444:
                files += 1
                if self.token.encode() in read_at(dfd, name):
                    hits.append(rel)
        self.checks.check(not hits, f"{label}: the marker's bytes are in none of its {files} files",
                          f"found in {hits[:5]}")

    def named(self, label, text, names):
        missing = [n for n in names if n not in text]
        self.checks.check(not missing, f"{label}: names every planted problem ({len(names)})",
                          f"not named: {missing[:8]}")


_CALL = re.compile(r"^\d+\s+(\w+)\((.*)\)\s+=\s+(.*)$")
_AT_PATH = re.compile(r'^(?:AT_FDCWD|-?\d+)(?:<([^>]*)>)?, "((?:[^"\\]|\\.)*)"')
_PATH = re.compile(r'^"((?:[^"\\]|\\.)*)"')


def outside_touched(trace, outside):
    """Lines of an `strace -f -y` trace whose path argument (joined to its
    directory fd) lies in `outside`, or that use or return an fd on
    something there. A symlink's target read by readlink is not an access."""
    hits = []
    dirs = (outside, os.path.realpath(outside))
    inside = lambda p: any(p == d or p.startswith(d + "/") for d in dirs)
    with open(trace, errors="replace") as f:
        for line in f:
            m = _CALL.match(line.strip())
            if not m:
                continue
            name, args, ret = m[1], m[2], m[3]
            at = _AT_PATH.match(args) if name.endswith("at") or name in ("openat2", "statx") \
                else None
            plain = None if at else _PATH.match(args)
            path = None
            if at:
                path = at[2] if at[2].startswith("/") or not at[1] else f"{at[1]}/{at[2]}"
            elif plain:
                path = plain[1]
            fds = re.findall(r"<([^>]*)>", args) + re.findall(r"<([^>]*)>", ret)
            if (path and inside(os.path.normpath(path))) or any(inside(fd) for fd in fds):
                hits.append(line.strip())
    return hits


def said(report):
    """The warnings and problems of a JSON report, one a line ("" if none)."""
    try:
        with open(report) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return f"(report {report} unreadable: {e})"
    return "\n".join(doc.get("warnings", []) + doc.get("problems", []))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root("hostile_root")
    pc.need_tools("hostile_root", "gcc", "strace", "setpriv")
    checks = pc.Checks("hostile_root")
    # uid 65534 must reach the root and the binary wherever the clone lies.
    work, args.elfprune = pc.reachable_work(args.work, args.elfprune)
    start = time.monotonic()
    clean(work)
    h = build(work)
    root, outside, token = os.path.join(work, "root"), h["outside"], h["token"]
    h["mutated"] = populate(root, h)
    print(f"root built in {time.monotonic() - start:.1f} s: {len(h['mutated'])} mutated "
          f"libraries; marker {h['marker']}")
    r = Runner(checks, args.elfprune, token, outside)
    problem_names = SPECIAL + [os.path.basename(p) for p in h["mutated"]]

    # deps on every ELF file, then on prog alone (it names all it needs).
    files = elf_files(root) + list(h["mutated"])
    files = sorted(set(files))
    for fmt in ([], ["--json"]):
        rc, text = r.run(f"deps {' '.join(fmt)} on {len(files)} files".replace("  ", " "),
                         ["deps", "--root", root] + fmt + files)
        r.named("deps: every file given", text, files)
        rc, text = r.run(f"deps {' '.join(fmt)} /usr/bin/prog",
                         ["deps", "--root", root] + fmt + ["/usr/bin/prog"])
        r.named(f"deps {' '.join(fmt)} /usr/bin/prog", text, problem_names)

    # prune: --out, --dry-run with a report, --in-place on a copy.
    out = os.path.join(work, "out")
    report = os.path.join(work, "report-out.json")
    rc, text = r.run("prune --out", ["prune", root, "--entry", "/usr/bin/prog", "--out", out,
                                      "--report", report])
    r.no_marker_in_tree("prune --out: the output tree", out)
    checks.check(not os.path.exists(report) or token.encode() not in open(report, "rb").read(),
                 "prune --out: the marker's bytes are not in the report")
    r.named("prune --out: stderr, report warnings and problems", text + said(report), ROOT_SEES)
    dry = os.path.join(work, "report-dry.json")
    rc, text = r.run("prune --dry-run", ["prune", root, "--entry", "/usr/bin/prog", "--dry-run",
                                         "--report", dry])
    checks.check(not os.path.exists(dry) or token.encode() not in open(dry, "rb").read(),
                 "prune --dry-run: the marker's bytes are not in the report")
    r.named("prune --dry-run: stderr, report warnings and problems", text + said(dry), ROOT_SEES)
    copy = os.path.join(work, "in-place")  # cp -a cannot copy the 200-level directory
    populate(copy, h)
    in_place = os.path.join(work, "report-in-place.json")
    rc, text = r.run("prune --in-place", ["prune", copy, "--entry", "/usr/bin/prog", "--in-place",
                                          "--report", in_place])
    r.named("prune --in-place: stderr, report warnings and problems", text + said(in_place),
            ROOT_SEES)
    r.no_marker_in_tree("prune --in-place: the pruned tree", copy)
    checks.check(open(h["marker"]).read() == token + "\n", "the marker file is untouched")

    # Under strace: never a path in the marker's directory, never an fd on it.
    for label, a in (("deps", ["deps", "--root", root, "/usr/bin/prog"] + files[:50]),
                     ("prune --dry-run", ["prune", root, "--entry", "/usr/bin/prog",
                                          "--dry-run"])):
        trace = os.path.join(work, f"strace-{label.split()[0]}.txt")
        r.run(f"{label} under strace", a,
              tracer=["strace", "-f", "-qq", "-y", "-s", "8192", "-o", trace, "-e",
                      "trace=file,desc"])
        hits = outside_touched(trace, outside)
        checks.check(os.path.getsize(trace) > 0 and not hits,
                     f"{label} under strace: no path in {outside} is named or opened",
                     "\n    " + "\n    ".join(hits[:5]) if hits else "")

    # Unreadable files and directories, as an unprivileged user.
    nobody_root = root  # world-readable but for the mode 000 parts
    rc, text = r.run("deps as uid 65534", ["deps", "--root", nobody_root, "/usr/bin/prog"],
                     user=NOBODY)
    r.named("deps as uid 65534", text, ["libnoperm.so", "/usr/lib/hostile/locked"])
    nobody_out = os.path.join(work, "out-nobody")
    os.mkdir(nobody_out)
    os.chown(nobody_out, NOBODY, NOBODY)
    rc, text = r.run("prune --out as uid 65534",
                     ["prune", nobody_root, "--entry", "/usr/bin/prog", "--out", nobody_out],
                     user=NOBODY)
    r.named("prune --out as uid 65534", text, ["/usr/lib/hostile/libnoperm.so",
                                               "/usr/lib/hostile/locked"])
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
