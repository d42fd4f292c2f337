"""The Debian 12 roots shared by the end-to-end tests, built once with
debootstrap and cached outside the clone (tests/e2e/CMakeLists.txt: the
test cache, /var/cache/elfprune-tests unless ELFPRUNE_TEST_CACHE says
otherwise), each under a name keyed by the debootstrap command that makes it,
so a fresh clone (CI) reuses a root made by an earlier run and a changed
package list makes a new root.

    root = debian_root.root_for_test(CACHE/debian-root)              # nodejs, python3, perl
    root = debian_root.root_for_test(CACHE/debian-root, REAL_WORLD)  # + CA certificates, git...

The root is made in a temporary directory beside its final path and renamed
only once complete (a stamp file inside says so), so a half-built root is
never used. Tests running in parallel (`ctest -j`) serialise on an exclusive
lock file beside the root: the first builds it, the others wait and reuse
it. Once stamped, the root is only ever read. For development,
ELFPRUNE_DEBIAN_ROOT names an existing root to use instead.
"""
import fcntl
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import hashlib

# The first root: three interpreters on a minimal base.
INTERPRETERS = ["nodejs", "python3", "perl"]
# A root as images that speak HTTPS are: CA certificates (hash links into
# /usr/share/ca-certificates), openssl, curl, git, python3.
REAL_WORLD = ["python3", "ca-certificates", "openssl", "curl", "git"]
STAMP = ".elfprune-debootstrap-complete"


def mounts_under(path):
    """Mount points at or below `path`, deepest first."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[4])
            if point == path or point.startswith(path + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def remove_tree(path):
    """Delete a (possibly half-built) root. debootstrap mounts /proc and
    /sys, maybe /dev, inside its target; deleting through a mount would
    delete the host's files, so unmount first and refuse if that fails."""
    for point in mounts_under(path):
        if subprocess.run(["umount", point]).returncode != 0:
            subprocess.run(["umount", "-l", point])
    if left := mounts_under(path):
        sys.exit(f"debian root: refusing to delete {path}: still mounted: {left}")
    shutil.rmtree(path)


def command(include):
    return ["debootstrap", "--variant=minbase", "--include=" + ",".join(include), "bookworm"]


def keyed_path(path, include=INTERPRETERS):
    """Where the root made with `include` lives: `path` plus a key of the
    command that makes it."""
    key = hashlib.sha256(" ".join(command(include)).encode()).hexdigest()[:12]
    return f"{os.path.abspath(path)}-{key}"


def _build(path, include):
    """Run debootstrap into a temporary directory and rename it to `path`.
    The caller holds the lock."""
    cmd = command(include)
    for stale in glob.glob(path + ".tmp.*") + ([path] if os.path.lexists(path) else []):
        print(f"debian root: removing incomplete {stale}")
        remove_tree(stale)
    parent = os.path.dirname(os.path.abspath(path))
    tmp = tempfile.mkdtemp(prefix=os.path.basename(path) + ".tmp.", dir=parent)
    os.chmod(tmp, 0o755)  # it becomes the root's "/"; mkdtemp made it 0700
    log = path + ".debootstrap.log"
    print(f"debian root: running {' '.join(cmd)} {tmp} (log: {log}); takes minutes",
          flush=True)
    with open(log, "w") as out:
        rc = subprocess.run(cmd + [tmp], stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL).returncode
    if rc != 0:
        with open(log, errors="replace") as f:
            tail = f.readlines()[-25:]
        print("".join(tail), end="")
        remove_tree(tmp)
        sys.exit(f"debian root: debootstrap failed with exit status {rc}; see {log}")
    with open(os.path.join(tmp, STAMP), "w") as f:
        f.write(" ".join(cmd) + " DIR\n")
    os.rename(tmp, path)


def ensure_root(path, include=INTERPRETERS):
    """Build the root at `path` with debootstrap unless already complete.
    Exits the test with a message if it cannot be built."""
    cmd = command(include)
    if os.path.exists(os.path.join(path, STAMP)):
        print(f"debian root: reusing {path} (built by: {' '.join(cmd)} DIR)")
        return
    if shutil.which("debootstrap") is None:
        sys.exit("debian root: cannot build the root: debootstrap is not installed "
                 "(apt-get install debootstrap; scripts/setup.sh does)")
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    with open(path + ".lock", "w") as lock:  # released when closed, or if we die
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"debian root: another test is building {path}; waiting for it", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        # Under the lock: whoever held it before may have finished the job.
        if os.path.exists(os.path.join(path, STAMP)):
            print(f"debian root: reusing {path} (built by: {' '.join(cmd)} DIR)")
            return
        _build(path, include)


def root_for_test(path, include=INTERPRETERS):
    """The root a test should use: the development override if set (used
    as is: ELFPRUNE_DEBIAN_ROOT for the first root, ELFPRUNE_REAL_ROOT for
    REAL_WORLD), else keyed_path(path, include), built if needed. Absolute."""
    override = os.environ.get("ELFPRUNE_DEBIAN_ROOT" if include == INTERPRETERS
                              else "ELFPRUNE_REAL_ROOT")
    if override:
        print(f"debian root: ELFPRUNE_DEBIAN_ROOT={override}: development override, not built here")
        if not os.path.isdir(override):
            sys.exit(f"debian root: ELFPRUNE_DEBIAN_ROOT={override} is not a directory")
        return os.path.abspath(override)
    path = keyed_path(path, include)
    ensure_root(path, include)
    return path


if __name__ == "__main__":
    # debian_root.py [--real] [--build] CACHE/debian-root: print the keyed
    # path (scripts/bench.sh uses it), building the root first with --build.
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", action="store_true", help="the REAL_WORLD root")
    ap.add_argument("--build", action="store_true", help="build it if missing")
    ap.add_argument("path")
    a = ap.parse_args()
    inc = REAL_WORLD if a.real else INTERPRETERS
    out = keyed_path(a.path, inc)
    if a.build:
        ensure_root(out, inc)
    print(out)
