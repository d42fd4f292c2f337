"""Helpers shared by the `elfprune prune` end-to-end tests (prune_*.py).

- Checks: collects named pass/fail results, prints each with what was
  measured, and gives the exit status;
- run_elfprune: runs the tool, printing the command, time and output;
- tree_size / snapshot / diff_snapshots: measure and compare trees
  independently of elfprune (apparent bytes of regular files, each hardlinked
  inode once; a full listing with modes, sizes, mtimes, symlink targets and
  content hashes);
- run_in_root / trace_in_root: run a workload chrooted in a root through
  chroot_run.py (clean environment, private /proc /sys /dev /tmp, read-only
  root), optionally under strace to measure what it really uses.
"""
import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import struct
import subprocess
import sys
import time

from loader_compare import realpath_in

HERE = os.path.dirname(os.path.abspath(__file__))
CHROOT_RUN = os.path.join(HERE, "chroot_run.py")
KERNEL_FS = ("/proc", "/sys", "/dev")


class Checks:
    """Named checks; every one is printed, failures again at the end."""

    def __init__(self, name):
        self.name = name
        self.failed = []
        self.passed = 0

    def check(self, ok, what, detail=""):
        line = f"{what}" + (f": {detail}" if detail else "")
        if ok:
            self.passed += 1
            print(f"PASS {line}")
        else:
            self.failed.append(line)
            print(f"FAIL {line}")
        return ok

    def fail(self, what, detail=""):
        return self.check(False, what, detail)

    def finish(self):
        print(f"{self.name}: {self.passed} checks passed, {len(self.failed)} failed")
        for line in self.failed:
            print(f"  FAILED {line}")
        return 1 if self.failed else 0


def traced_env():
    """The environment for a program run under strace (ptrace): in the
    sanitizer build (scripts/test-sanitized.sh), LeakSanitizer refuses to
    run under ptrace and aborts the process, so leak checking is turned off
    there; the untraced runs of the same suite still check for leaks."""
    env = dict(os.environ)
    asan = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "detect_leaks=0"
    return env


def need_root(name):
    if os.geteuid() != 0:
        sys.exit(f"{name}: chroot and mount need root; run the end-to-end tests as root")


def need_tools(name, *tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        sys.exit(f"{name}: cannot run: {', '.join(missing)} not installed (scripts/setup.sh installs them)")


def finish(checks, work):
    """The exit status of `checks`; `work` is removed when everything passed
    and left, saying so, for inspection when anything failed."""
    status = checks.finish()
    if status == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"left for inspection: {work}")
    return status


def reachable_work(work, binary):
    """A work directory and an elfprune binary that every user can reach.

    A clone may lie where only its owner can enter (root's home and
    `mktemp -d` are mode 0700), and a test that runs elfprune as uid 65534
    needs both the tree it prunes and the binary on a path that user can
    traverse. Returns (directory, binary): a directory of its own under
    /var/tmp/elfprune-e2e named by `work` (made anew, mode 0755) and the
    binary copied into it."""
    key = hashlib.sha256(os.path.abspath(work).encode()).hexdigest()[:12]
    base = "/var/tmp/elfprune-e2e"
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o755)
    path = os.path.join(base, f"{os.path.basename(os.path.abspath(work))}-{key}")
    if os.path.lexists(path):
        subprocess.run(["chattr", "-R", "-i", path], capture_output=True)
        subprocess.run(["chmod", "-R", "u+rwX", path], capture_output=True)
        shutil.rmtree(path)
    os.makedirs(path)
    os.chmod(path, 0o755)
    copy = os.path.join(path, "elfprune")
    shutil.copy2(binary, copy)
    os.chmod(copy, 0o755)
    work_dir = os.path.join(path, "work")
    os.makedirs(work_dir)
    os.chmod(work_dir, 0o755)
    print(f"work directory every user can reach: {work_dir} (binary {copy})")
    return work_dir, copy


def run_elfprune(binary, args, timeout=900):
    """Run elfprune; print the command, its exit status, time and output
    (stdout shortened). Returns the CompletedProcess."""
    cmd = [binary] + args
    print(f"$ {shlex.join(cmd)}", flush=True)
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        print(f"  timed out after {timeout} s")
        return subprocess.CompletedProcess(cmd, -1, "", f"timed out after {timeout} s")
    print(f"  exit {p.returncode} in {time.monotonic() - start:.1f} s")
    out = p.stdout.splitlines()
    if len(out) > 40:
        out = out[:30] + [f"... ({len(out) - 35} lines) ..."] + out[-5:]
    for line in out:
        print(f"  | {line}")
    for line in p.stderr.splitlines()[:40]:
        print(f"  ! {line}")
    return p


def load_report(path):
    """The JSON report, or None (and a message) if missing or not JSON."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"report {path}: cannot be read: {e}")
        return None


def json_of(checks, what, p):
    """The JSON document a command printed, or None after a failed check
    naming `what` (with the start of its output and the end of its errors)."""
    try:
        return json.loads(p.stdout)
    except ValueError:
        checks.fail(f"{what}: a JSON report", f"exit {p.returncode}: {p.stdout[:300]} {p.stderr[-600:]}")
        return None


def report_paths(report, key):
    """Set of paths in report[key] (a list of {path, ...})."""
    return {e["path"] for e in (report or {}).get(key, []) if isinstance(e, dict) and "path" in e}


# ---------------------------------------------------------------- trees

def walk(top):
    """(path inside top, host path, lstat) for every entry below top, never
    following symlinks; top itself excluded."""
    for dirpath, dirs, files in os.walk(top):
        for name in sorted(dirs) + sorted(files):
            host = os.path.join(dirpath, name)
            rel = "/" + os.path.relpath(host, top)
            yield rel, host, os.lstat(host)
        dirs.sort()


def tree_size(top):
    """(regular files, apparent bytes): each inode counted once, as
    `du --apparent-size -b` counts regular files."""
    seen = set()
    files = size = 0
    for _, _, st in walk(top):
        if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            files += 1
            size += st.st_size
    return files, size


def regular_files(top):
    """{path inside top: size} of the regular files (all names of an inode)."""
    return {rel: st.st_size for rel, _, st in walk(top) if stat.S_ISREG(st.st_mode)}


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot(top, content=True):
    """{path: description} of every entry: type and mode, owner, size,
    mtime (ns), link count, symlink target, content hash (regular files)."""
    snap = {}
    for rel, host, st in walk(top):
        d = (stat.filemode(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns, st.st_nlink)
        if stat.S_ISREG(st.st_mode):
            d += (st.st_size, _sha256(host) if content else None)
        elif stat.S_ISLNK(st.st_mode):
            d += (os.readlink(host),)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            d += (st.st_rdev,)
        snap[rel] = d
    return snap


def fingerprint(root):
    """(entries, a checksum of every entry's path, type, mode, size, mtime):
    cheap enough for a whole Debian root, to show a run left it unchanged."""
    h = hashlib.sha256()
    n = 0
    for top, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(top, name)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, root)} {st.st_mode} {st.st_size} {st.st_mtime_ns}\n".encode(
                errors="surrogateescape"))
            n += 1
    return n, h.hexdigest()


def diff_snapshots(before, after, limit=20):
    """Human lines describing how two snapshots differ ([] if identical)."""
    lines = []
    for p in sorted(before.keys() - after.keys()):
        lines.append(f"gone: {p}")
    for p in sorted(after.keys() - before.keys()):
        lines.append(f"new: {p}")
    for p in sorted(before.keys() & after.keys()):
        if before[p] != after[p]:
            lines.append(f"changed: {p}: {before[p]} -> {after[p]}")
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more differences"]
    return lines


def copy_tree(src, dst):
    """cp -a src dst (dst must not exist)."""
    subprocess.run(["cp", "-a", src, dst], check=True)


def mb(n):
    return f"{n / 1e6:.1f} MB"


# ---------------------------------------------------------------- running in a root

def prepare_mountpoints(root):
    """Create /proc, /sys, /dev in a pruned tree if missing, as a container
    runtime would (empty directories, 0 bytes). Returns what was created."""
    made = []
    for d in ("proc", "sys", "dev"):
        p = os.path.join(root, d)
        if not os.path.lexists(p):
            os.mkdir(p, 0o755)
            made.append("/" + d)
    if made:
        print(f"note: created empty mount points {', '.join(made)} in {root} (a runtime would)")
    return made


def run_in_root(root, argv, cwd="/", timeout=180, tracer=None):
    """Run argv chrooted in root through chroot_run.py; returns the
    CompletedProcess (text). tracer: a command prefix (strace ...)."""
    cmd = (tracer or []) + [sys.executable, CHROOT_RUN, root, "--cwd", cwd, "--"] + argv
    try:
        return subprocess.run(cmd, capture_output=True, encoding="utf-8", errors="replace",
                              timeout=timeout, stdin=subprocess.DEVNULL,
                              env={"PATH": "/usr/bin:/bin"})
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, -1, e.stdout or "", f"timed out after {timeout} s")


def check_workload(checks, what, root, argv, expected, timeout=180):
    """Run a workload in root and check it printed exactly `expected` on
    stdout, nothing on stderr, and exited 0. Returns True if so."""
    p = run_in_root(root, argv, timeout=timeout)
    got = p.stdout.rstrip("\n")
    ok = p.returncode == 0 and got == expected and not p.stderr.strip()
    detail = f"exit {p.returncode}, stdout {got!r}"
    if not ok:
        detail += f", expected {expected!r}"
        if p.stderr.strip():
            detail += "; stderr:\n    " + "\n    ".join(p.stderr.strip().splitlines()[-25:])
    return checks.check(ok, what, detail)


# ---------------------------------------------------------------- strace measurement

PT_INTERP = 3


def elf_interpreter(path):
    """PT_INTERP of a 64- or 32-bit ELF file, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 52 or head[:4] != b"\x7fELF":
                return None
            end = "<" if head[5] == 1 else ">"
            if head[4] == 2:
                phoff, = struct.unpack_from(end + "Q", head, 0x20)
                phentsize, phnum = struct.unpack_from(end + "HH", head, 0x36)
                fmt, off_at, size_at = end + "IIQQQQ", 2, 4
            else:
                phoff, = struct.unpack_from(end + "I", head, 0x1c)
                phentsize, phnum = struct.unpack_from(end + "HH", head, 0x2a)
                fmt, off_at, size_at = end + "IIIIII", 1, 4
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                ph = struct.unpack(fmt, f.read(struct.calcsize(fmt)))
                if ph[0] == PT_INTERP:
                    f.seek(ph[off_at])
                    return f.read(ph[size_at]).split(b"\0")[0].decode()
    except (OSError, struct.error, UnicodeDecodeError):
        pass
    return None


def shebang_interpreter(path):
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    words = head[2:].split(b"\n")[0].split()
    return words[0].decode(errors="replace") if words else None


_CALL = re.compile(r"^(\d+)\s+(.*)$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_SYSCALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(?:<(.*)>)?(?:\s.*)?$")
_FIRST_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"')
TRACED_CALLS = "open,openat,openat2,creat,execve,execveat,chroot"


def _unescape(s):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), s)


def parse_trace(trace_file, root):
    """Paths inside root (symlinks resolved) of the files the traced
    workload opened or executed successfully after entering the root,
    plus the interpreters the kernel loaded for what it executed."""
    host_root = os.path.realpath(root)
    pending = {}
    opened, executed = set(), set()
    inside = False
    with open(trace_file, errors="replace") as f:
        for raw in f:
            m = _CALL.match(raw.rstrip("\n"))
            if not m:
                continue
            pid, text = m[1], m[2]
            if text.endswith("<unfinished ...>"):
                pending[pid] = text[: -len("<unfinished ...>")].rstrip()
                continue
            r = _RESUMED.match(text)
            if r:
                text = pending.pop(pid, r[1] + "(") + r[2]
            s = _SYSCALL.match(text)
            if not s:
                continue
            name, args, ret, decoration = s[1], s[2], s[3], s[4]
            if name == "chroot" and ret == "0":
                inside = True
            if not inside or ret.startswith("-") or ret == "?":
                continue
            if name in ("execve", "execveat"):
                a = _FIRST_STRING.match(args if name == "execve" else args.split(", ", 1)[-1])
                if a:
                    executed.add(realpath_in(root, _unescape(a[1])))
            elif decoration:
                host = decoration.removesuffix(" (deleted)")
                if host.startswith(host_root + "/"):
                    opened.add(host[len(host_root):])
    # The kernel opens the interpreter of what it executes without a
    # system call of the program's: follow shebangs and PT_INTERP.
    todo = list(executed)
    while todo:
        path = todo.pop()
        host = os.path.join(host_root, path.lstrip("/"))
        interp = shebang_interpreter(host) or elf_interpreter(host)
        if interp:
            real = realpath_in(root, interp)
            if real not in executed:
                executed.add(real)
                todo.append(real)
    return opened | executed


def traced_files(root, paths):
    """{path: size} of the regular files among paths (inside root), kernel
    file systems excluded, each inode once."""
    host_root = os.path.realpath(root)
    seen, sizes = set(), {}
    for p in sorted(paths):
        if any(p == k or p.startswith(k + "/") for k in KERNEL_FS):
            continue
        try:
            st = os.stat(os.path.join(host_root, p.lstrip("/")))
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            sizes[p] = st.st_size
    return sizes


def trace_in_root(root, argv, work_dir, label, timeout=300):
    """Run argv chrooted in root under strace. Returns (CompletedProcess,
    {path: size} of the regular files it used)."""
    trace = os.path.join(work_dir, f"strace-{label}.txt")
    tracer = ["strace", "-f", "-qq", "-y", "-s", "4096", "-e", f"trace={TRACED_CALLS}",
              "-o", trace, "--"]
    p = run_in_root(root, argv, timeout=timeout, tracer=tracer)
    sizes = traced_files(root, parse_trace(trace, root)) if os.path.exists(trace) else {}
    return p, sizes


def print_largest(title, sizes, n=12):
    print(title)
    for p, s in sorted(sizes.items(), key=lambda kv: -kv[1])[:n]:
        print(f"  {s:>12,}  {p}")
