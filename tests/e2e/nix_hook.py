#!/usr/bin/env python3
"""e2e.nix.setup_hook: scripts/nix/setup-hook.sh in a real nix-build takes
node-gyp's Python out of an npm package's closure.

    nix_hook.py --elfprune BIN --hook scripts/nix/setup-hook.sh \
                --expr tests/e2e/nix/npm-hook.nix --cache BUILD/npm-lambda-ric

The npm tree is the cached `npm install aws-lambda-ric` of npm_tree.py (a
native addon built by node-gyp). nix/npm-hook.nix copies it into an output
and points its Python scripts' shebangs at a "python" store path, twice:
1. control (no hook): `nix-store -qR` holds the python store path (the
   builds are real, so Nix's own reference scan says so);
2. with the hook sourced and postInstallHooks run: the build log shows the
   elfprune summary (which names the python store path as released) and
   that the hook passed --jobs $NIX_BUILD_CORES (Debian's Nix sets it to
   the number of CPUs),
   `nix-store -qR` does not hold the python store path,
   no *.py file is left, and node can still import the package and load its
   addon from the store path.
"""
import argparse
import os
import re
import shutil
import sys

import nix_common as nix
import npm_tree
import prune_common as pc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--hook", required=True)
    ap.add_argument("--expr", required=True)
    ap.add_argument("--cache", required=True, help="the cache directory of npm_tree.py")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root("nix.setup_hook")
    nix.need_nix("nix.setup_hook")
    node = shutil.which("node")
    if node is None:
        sys.exit("nix.setup_hook: node is not installed (scripts/setup.sh installs it)")
    checks = pc.Checks("nix.setup_hook")
    pristine = npm_tree.ensure_pristine(args.cache)
    elfprune = os.path.abspath(args.elfprune)
    build_args = {"tree": pristine, "hook": os.path.abspath(args.hook), "elfprune": elfprune,
                  "nonce": nix.nonce(elfprune, args.hook)}
    python = nix.build(checks, args.expr, "python", build_args, "the python store path")
    control = nix.build(checks, args.expr, "control", build_args, "the control package")
    pruned = nix.build(checks, args.expr, "pruned", build_args, "the package with the hook")
    if not (python and control and pruned):
        return checks.finish()

    control_refs, pruned_refs = nix.closure(control), nix.closure(pruned)
    checks.check(python in control_refs, "control: nix-store -qR holds the python store path",
                 f"{python} in {len(control_refs)} paths")
    checks.check(python not in pruned_refs, "with the hook: nix-store -qR does not hold python",
                 f"closure: {pruned_refs}")
    log = nix.build_log(pruned)
    checks.check("elfprune: pruning output out" in log and "removed" in log,
                 "the build log shows the elfprune summary",
                 "\n    " + "\n    ".join(log.strip().splitlines()[-12:]))
    jobs = re.search(r"elfprune: pruning output out \(.*\) with --jobs ([1-9][0-9]*)$", log, re.M)
    checks.check(jobs is not None, "the hook passes --jobs $NIX_BUILD_CORES",
                 "\n    " + "\n    ".join(l for l in log.splitlines() if "pruning output" in l))
    checks.check(f"store paths only removed files named, now out of the closure" in log and
                 python in log.split("now out of the closure")[-1],
                 "the report names the python store path as released by the pruning")
    app = os.path.join(pruned, "lib", "app")
    py = sorted(p for p, _, _ in pc.walk(app) if p.endswith(".py"))
    checks.check(not py, "with the hook: no *.py file is left", f"{len(py)}: {py[:5]}")
    _, before = pc.tree_size(os.path.join(control, "lib", "app"))
    _, after = pc.tree_size(app)
    print(f"package bytes: control {before:,}, with the hook {after:,}")
    npm_tree.node_checks(checks, node, app, "with the hook, in the store")
    status = checks.finish()
    if status == 0:
        nix.delete(pruned, control)
    return status


if __name__ == "__main__":
    sys.exit(main())
