#!/usr/bin/env python3
"""e2e.prune.check: `prune --check CMD` runs CMD in the result, chrooted on
an overlay in its own mount and PID namespaces, and fails the run when CMD
fails.

    prune_check.py --elfprune BIN --root DEBIAN_ROOT --work DIR

1. The Debian root, pruned for python3 as a dry run: `python3 -c 'import
   json'` passes, `perl -e 1` fails (perl is among the planned removals,
   hidden from the check by whiteouts) and the run exits 1, the report
   naming the command and its status; the root is unchanged (no
   __pycache__ written: entry count and a metadata checksum before and
   after).
2. A tiny root made here (the host's ld.so and libc; /usr/bin/prog, a
   program; /usr/bin/daemon, a program that forks a child which sleeps,
   then sleeps itself):
   - --out D --check /usr/bin/prog passes and D holds the program; the
     same with a command D lacks fails with exit 1;
   - --in-place with a failing check exits 1 and deletes nothing;
   - --check /usr/bin/daemon with --check-timeout 2 is killed at the
     timeout with everything it started: the run fails, within seconds,
     and no process of it is left.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import debian_root
from prune_common import Checks, fingerprint, json_of, need_root

PROG_C = "int main(void) { return 0; }\n"
DAEMON_C = r"""
#include <unistd.h>
int main(void) {
  if (fork() == 0) { setsid(); for (;;) sleep(60); }
  for (;;) sleep(60);
}
"""
LOADER = "/lib64/ld-linux-x86-64.so.2"
MULTIARCH = "/usr/lib/x86_64-linux-gnu"
JUNK = "/usr/share/doc/app/README"


def sh(cmd, timeout=600):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)




def tiny_root(c, work, name):
    root = os.path.join(work, name)
    shutil.rmtree(root, ignore_errors=True)
    for d in ("usr/bin", MULTIARCH[1:], "usr/lib64", "proc", "dev", "tmp", os.path.dirname(JUNK)[1:]):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for d in ("bin", "lib", "lib64"):
        os.symlink(f"usr/{d}", os.path.join(root, d))
    shutil.copy2(os.path.realpath(LOADER), os.path.join(root, "usr/lib64/ld-linux-x86-64.so.2"))
    shutil.copy2(os.path.realpath(f"{MULTIARCH}/libc.so.6"), os.path.join(root, MULTIARCH[1:], "libc.so.6"))
    for prog in ("prog", "daemon"):
        shutil.copy2(os.path.join(work, "src", prog), os.path.join(root, "usr/bin", prog))
    with open(os.path.join(root, JUNK[1:]), "w") as f:
        f.write("documentation\n")
    return root



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    need_root("e2e.prune.check")
    c = Checks("e2e.prune.check")
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "src"))

    # 1. The Debian root, a dry run.
    root = debian_root.root_for_test(a.root)
    before = fingerprint(root)
    p = sh([a.elfprune, "prune", root, "--entry", "/usr/bin/python3", "--dry-run", "--json",
            "--check", "python3 -c 'import json, ssl'", "--check", "perl -e 1"])
    report = json_of(c, "debian dry run", p)
    if report is not None:
        checks = {k["command"]: k for k in report.get("checks", [])}
        py = checks.get("python3 -c 'import json, ssl'", {})
        pl = checks.get("perl -e 1", {})
        c.check(py.get("passed") is True, "debian: python3 -c 'import json, ssl' passes in the planned result",
                json.dumps(py)[:400])
        c.check(pl.get("passed") is False and pl.get("status") == 127,
                "debian: perl -e 1 fails (perl is planned away, hidden by whiteouts)", json.dumps(pl)[:400])
        c.check(p.returncode == 1 and any("perl -e 1" in x for x in report.get("problems", [])),
                "debian: the run exits 1 and its problems name the failing check",
                f"exit {p.returncode}: {report.get('problems')}")
    c.check(fingerprint(root) == before, "debian: the root is unchanged (entries and metadata)",
            f"{before} -> {fingerprint(root)}")

    # 2. The tiny root.
    for name, text in (("prog.c", PROG_C), ("daemon.c", DAEMON_C)):
        with open(os.path.join(work, "src", name), "w") as f:
            f.write(text)
        out = os.path.join(work, "src", name[:-2])
        g = sh(["gcc", "-O1", "-o", out, os.path.join(work, "src", name)])
        if g.returncode != 0:
            c.fail(f"gcc {name}", g.stderr)
            return c.finish()
    entries = ["--entry", "/usr/bin/prog"]
    src = tiny_root(c, work, "tiny")
    out = os.path.join(work, "out")
    p = sh([a.elfprune, "prune", src, *entries, "--out", out, "--json", "--check", "/usr/bin/prog"])
    c.check(p.returncode == 0 and os.path.exists(os.path.join(out, "usr/bin/prog")),
            "--out D --check /usr/bin/prog passes", f"exit {p.returncode}: {p.stderr.strip()[:300]}")
    shutil.rmtree(out, ignore_errors=True)
    p = sh([a.elfprune, "prune", src, *entries, "--out", out, "--json", "--check", "/usr/bin/daemon"])
    report = json_of(c, "--out with a command D lacks", p)
    c.check(p.returncode == 1 and report is not None and report["checks"][0]["status"] == 127,
            "--out D --check with a command D lacks (/usr/bin/daemon, pruned) fails with exit 1",
            f"exit {p.returncode}: {p.stderr.strip()[:300]}")

    inplace = tiny_root(c, work, "in-place")
    before = fingerprint(inplace)
    p = sh([a.elfprune, "prune", inplace, *entries, "--in-place", "--json", "--check", "/usr/bin/daemon"])
    c.check(p.returncode == 1 and fingerprint(inplace) == before and os.path.exists(os.path.join(inplace, JUNK[1:])),
            "--in-place with a failing check exits 1 and deletes nothing",
            f"exit {p.returncode}: {p.stderr.strip()[:300]}")

    daemon = tiny_root(c, work, "daemon")
    started = time.monotonic()
    p = sh([a.elfprune, "prune", daemon, "--entry", "/usr/bin/daemon", "--dry-run", "--json",
            "--check", "/usr/bin/daemon", "--check-timeout", "2"], timeout=120)
    took = time.monotonic() - started
    report = json_of(c, "timeout", p)
    left = sh(["pgrep", "-f", "^/usr/bin/daemon$"]).stdout.split()
    c.check(p.returncode == 1 and report is not None and report["checks"][0]["timed_out"] is True
            and took < 60, "--check-timeout 2: the check is killed at the timeout and the run fails",
            f"exit {p.returncode}, {took:.1f} s: {p.stderr.strip()[:300]}")
    c.check(not left, "no process of the check is left (the daemon's child died with the namespace)",
            f"pids {left}")
    for pid in left:
        subprocess.run(["kill", "-9", pid])
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
