#!/usr/bin/env python3
"""e2e.nix.rewrite_ref: `--rewrite-ref FULL=SLIM` through the setup hook in
a real nix-build moves a package's closure from a "full node" store path to
a "slim node" one.

    nix_rewrite_ref.py --elfprune BIN --hook scripts/nix/setup-hook.sh \
                       --expr tests/e2e/nix/rewrite-ref.nix

nix/rewrite-ref.nix builds `full` and `slim` (each bin/node -> the host's
node, and lib/libgreet.so printing "full" or "slim"), then `app`: a wrapper
script whose shebang names FULL/bin/node and an ELF program with RUNPATH
FULL/lib, pruned by the hook with elfpruneFlags = --rewrite-ref FULL=SLIM.
Checks, each measured independently of elfprune: `nix-store -qR app` holds
SLIM and not FULL; the script's first line names SLIM; `readelf`-free: the
program runs and prints "slim" (so the loader took SLIM/lib); the wrapper
runs and prints the node version; the build log lists both edits.
"""
import argparse
import os
import subprocess
import sys

import nix_common as nix
import prune_common as pc


def run(checks, argv, expect, what):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL)
    out = p.stdout.strip()
    return checks.check(p.returncode == 0 and expect in out, what,
                        f"exit {p.returncode}, stdout {out!r}, stderr {p.stderr.strip()[-300:]!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--hook", required=True)
    ap.add_argument("--expr", required=True)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root("nix.rewrite_ref")
    nix.need_nix("nix.rewrite_ref")
    checks = pc.Checks("nix.rewrite_ref")
    elfprune = os.path.abspath(args.elfprune)
    build_args = {"hook": os.path.abspath(args.hook), "elfprune": elfprune,
                  "nonce": nix.nonce(elfprune, args.hook)}
    full = nix.build(checks, args.expr, "full", build_args, "the full node")
    slim = nix.build(checks, args.expr, "slim", build_args, "the slim node")
    app = nix.build(checks, args.expr, "app", build_args, "the app with --rewrite-ref")
    if not (full and slim and app):
        return checks.finish()
    refs = nix.closure(app)
    checks.check(slim in refs and full not in refs,
                 "nix-store -qR app holds the slim node and not the full one", f"{refs}")
    with open(os.path.join(app, "bin", "app"), "rb") as f:
        first = f.readline().decode(errors="replace").strip()
    checks.check(first == f"#!{slim}/bin/node", "the wrapper's shebang names the slim node", first)
    run(checks, [os.path.join(app, "bin", "app")], "app runs on node v", "the wrapper runs")
    run(checks, [os.path.join(app, "bin", "greet")], "slim",
        "the ELF program runs and loads libgreet.so from the slim node")
    log = nix.build_log(app)
    for what in ("bin/app: 1 reference(s) rewritten (text)",
                 "bin/greet: 1 reference(s) rewritten (elf-strings): RUNPATH"):
        checks.check(what in log, f"the build log lists the edit '{what}'",
                     "\n    " + "\n    ".join(log.strip().splitlines()[-12:]))
    named = log.split("store paths the kept files name")[-1].split("\n\n")[0]
    checks.check(slim in named and full not in named,
                 "the report lists the slim store path, not the full one, as named by kept files",
                 named.strip())
    status = checks.finish()
    if status == 0:
        nix.delete(app)
    return status


if __name__ == "__main__":
    sys.exit(main())
