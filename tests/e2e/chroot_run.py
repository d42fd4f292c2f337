#!/usr/bin/env python3
"""Run one program chrooted in a root, the way a container runtime would.

    chroot_run.py ROOT [--cwd DIR] -- PROGRAM [ARG]...

The environment is cleared to PATH=/usr/bin:/bin (as `env -i` would). In a
private mount namespace (gone when the program exits, so nothing is ever
left mounted, whatever happens to the test) the root gets what `docker run
--read-only --tmpfs /tmp` gives a container image:

- the root itself bind-mounted read-only: a workload cannot change the
  tree under test (the cached Debian root is shared by several tests), and
  an interpreter's attempt to write caches there fails as it would in a
  read-only container;
- /proc (procfs), /sys (sysfs, read-only);
- /dev: a tmpfs with null, zero, full, random, urandom, tty, ptmx and the
  fd/stdin/stdout/stderr links, Docker's default set;
- /tmp: a fresh tmpfs, when the root has a /tmp directory.

The mount points /proc, /sys and /dev must exist in ROOT (the caller
creates them in a pruned tree: a runtime does too). A root without /tmp gets
no /tmp, so a workload that needs one fails there: that is a finding.

prune_common.py runs this script, under strace when measuring what a
workload opens. Exit status: the program's, or 125 if the setup failed.
"""
import ctypes
import os
import stat
import sys

CLONE_NEWNS = 0x20000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source, target, fstype, flags, data=None):
    if _libc.mount(source.encode() if source else None, target.encode(),
                   fstype.encode() if fstype else None, flags,
                   data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype or 'bind'} on {target}: {os.strerror(err)}")


def _populate_dev(dev):
    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
                               ("urandom", 1, 9), ("tty", 5, 0), ("ptmx", 5, 2)):
        os.mknod(os.path.join(dev, name), 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(os.path.join(dev, name), 0o666)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))
    for name in ("pts", "shm"):
        os.mkdir(os.path.join(dev, name), 0o755)


def enter(root, cwd):
    """Set up the mount namespace and chroot into `root`."""
    root = os.path.realpath(root)
    for d in ("proc", "sys", "dev"):
        if not os.path.isdir(os.path.join(root, d)):
            raise OSError(f"{root}/{d}: no such directory to mount on")
    if _libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    _mount(root, root, None, MS_BIND | MS_REC)
    _mount(None, root, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    _mount("proc", os.path.join(root, "proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount("sysfs", os.path.join(root, "sys"), "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    _mount("tmpfs", os.path.join(root, "dev"), "tmpfs", MS_NOSUID, "mode=755,size=65536k")
    _populate_dev(os.path.join(root, "dev"))
    tmp = os.path.join(root, "tmp")
    if os.path.isdir(tmp) and not os.path.islink(tmp):
        _mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    os.chroot(root)
    os.chdir(cwd)


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 125
    split = argv.index("--")
    opts, program = argv[:split], argv[split + 1:]
    cwd = "/"
    if len(opts) >= 2 and opts[-2] == "--cwd":
        cwd, opts = opts[-1], opts[:-2]
    if len(opts) != 1 or not program:
        print(__doc__, file=sys.stderr)
        return 125
    try:
        enter(opts[0], cwd)
    except OSError as e:
        print(f"chroot_run: {e}", file=sys.stderr)
        return 125
    try:
        os.execve(program[0], program, {"PATH": "/usr/bin:/bin"})
    except OSError as e:
        print(f"chroot_run: cannot execute {program[0]} in {opts[0]}: {e}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
