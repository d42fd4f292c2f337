"""The portable (fully static) elfprune for the tests that run it inside a
root or a container image (containerfile_build.py, prune_live_chroot.py):
built by scripts/build-portable.sh, which serialises concurrent builds,
copies the binary to DEST under its lock (so that another test's build
cannot relink it while it is copied) and prints DEST on its last line.

    binary = portable_binary.build(SCRIPT, DEST, NAME)
"""
import os
import subprocess
import sys
import time


def build(script, dest, name):
    """Run the build script, the binary copied to `dest`; return its
    absolute path, or exit the test saying why there is none."""
    print(f"$ {script} {dest}", flush=True)
    start = time.monotonic()
    p = subprocess.run([script, dest], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       timeout=1800)
    print(f"  exit {p.returncode} in {time.monotonic() - start:.1f} s")
    if p.returncode != 0:
        print(p.stderr[-5000:])
        sys.exit(f"{name}: {script} failed with exit status {p.returncode}")
    lines = p.stdout.strip().splitlines()
    binary = lines[-1] if lines else ""
    if binary != os.path.abspath(dest) or not os.access(binary, os.X_OK):
        sys.exit(f"{name}: {script} printed {binary!r} as its last line, not the executable "
                 f"{os.path.abspath(dest)}")
    print(f"portable elfprune: {binary} ({os.path.getsize(binary):,} bytes)")
    return binary
