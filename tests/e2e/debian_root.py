"""The Debian 12 root shared by the end-to-end tests, built once with
debootstrap and cached in the build directory.

    root = debian_root.ensure(BUILD/debian-root)

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

DEBOOTSTRAP = ["debootstrap", "--variant=minbase", "--include=nodejs,python3,perl", "bookworm"]
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


def _build(path):
    """Run debootstrap into a temporary directory and rename it to `path`.
    The caller holds the lock."""
    for stale in glob.glob(path + ".tmp.*") + ([path] if os.path.lexists(path) else []):
        print(f"debian root: removing incomplete {stale}")
        remove_tree(stale)
    parent = os.path.dirname(os.path.abspath(path))
    tmp = tempfile.mkdtemp(prefix=os.path.basename(path) + ".tmp.", dir=parent)
    os.chmod(tmp, 0o755)  # it becomes the root's "/"; mkdtemp made it 0700
    log = path + ".debootstrap.log"
    print(f"debian root: running {' '.join(DEBOOTSTRAP)} {tmp} (log: {log}); takes minutes",
          flush=True)
    with open(log, "w") as out:
        rc = subprocess.run(DEBOOTSTRAP + [tmp], stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL).returncode
    if rc != 0:
        with open(log, errors="replace") as f:
            tail = f.readlines()[-25:]
        print("".join(tail), end="")
        remove_tree(tmp)
        sys.exit(f"debian root: debootstrap failed with exit status {rc}; see {log}")
    with open(os.path.join(tmp, STAMP), "w") as f:
        f.write(" ".join(DEBOOTSTRAP) + " DIR\n")
    os.rename(tmp, path)


def ensure_root(path):
    """Build the root at `path` with debootstrap unless already complete.
    Exits the test with a message if it cannot be built."""
    if os.path.exists(os.path.join(path, STAMP)):
        print(f"debian root: reusing {path} (built by: {' '.join(DEBOOTSTRAP)} DIR)")
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
            print(f"debian root: reusing {path} (built by: {' '.join(DEBOOTSTRAP)} DIR)")
            return
        _build(path)


def root_for_test(path):
    """The root a test should use: ELFPRUNE_DEBIAN_ROOT if set (development
    override, used as is), else `path`, built if needed. Absolute."""
    override = os.environ.get("ELFPRUNE_DEBIAN_ROOT")
    if override:
        print(f"debian root: ELFPRUNE_DEBIAN_ROOT={override}: development override, not built here")
        if not os.path.isdir(override):
            sys.exit(f"debian root: ELFPRUNE_DEBIAN_ROOT={override} is not a directory")
        return os.path.abspath(override)
    ensure_root(path)
    return os.path.abspath(path)
