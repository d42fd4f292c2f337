#!/usr/bin/env python3
"""e2e.prune.npm_app: a Node handler with run-time dependencies and
devDependencies, as `npm install` leaves it, pruned for the app.

    prune_npm_app.py --elfprune BIN --root BUILD/debian-root --cache CACHE/npm-app --work DIR

The project (orders-handler: uuid, lodash, date-fns at run time; typescript,
eslint, @types/node for development) is installed by a real `npm install`
once and cached outside the clone, keyed by its package.json and node/npm's
versions. npm itself is the oracle for what is dev-only: `npm ls --all
--parseable` lists every installed package, `npm ls --all --parseable
--omit=dev` those a production install keeps; the difference is what only
devDependencies need.

1. ROOT = a copy of the cached Debian 12 root (node, python3, perl) with the
   project at /var/task. `elfprune prune ROOT --entry /usr/bin/node --entry
   /var/task/index.js --out OUT` exits 0; the handler runs chrooted in OUT
   and prints its line; no dev-only package is in OUT; the project's bytes
   in OUT are at most 1.05x its own files plus its run-time packages; the
   report names the dev-only packages' removal ("devDependency of
   orders-handler"), and no python3 is in OUT.
2. The same project alone, `elfprune prune APP --in-place --sysroot /` with
   no entries: every dev-only package is gone, every run-time one is there,
   and the handler still runs with the host's node.
"""
import argparse
import fcntl
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import debian_root
import prune_common as pc

NAME = "prune.npm_app"
BUDGET = 1.05

PACKAGE_JSON = {
    "name": "orders-handler",
    "version": "1.0.0",
    "private": True,
    "main": "index.js",
    "dependencies": {"uuid": "9.0.1", "lodash": "4.17.21", "date-fns": "3.6.0"},
    "devDependencies": {"typescript": "5.4.5", "eslint": "8.57.0", "@types/node": "20.12.7"},
}

INDEX_JS = r"""const { v4, validate } = require('uuid');
const _ = require('lodash');
const { addDays, formatISO } = require('date-fns');
exports.handler = async (event) => ({
  id: validate(v4()),
  chunks: _.chunk(event.items, 2).length,
  next: formatISO(addDays(new Date(Date.UTC(2024, 1, 28, 12)), 1), { representation: 'date' }),
});
exports.handler({ items: [1, 2, 3, 4, 5] }).then(r => console.log(JSON.stringify(r)));
"""
EXPECT = '{"id":true,"chunks":3,"next":"2024-02-29"}'


def installed_project(cache):
    """The cached `npm install` of the project, made once under a lock."""
    versions = [subprocess.run([t, "--version"], capture_output=True, text=True).stdout.strip()
                for t in ("node", "npm")]
    key = hashlib.sha256(json.dumps([PACKAGE_JSON, INDEX_JS, versions], sort_keys=True)
                         .encode()).hexdigest()[:12]
    cache = f"{os.path.abspath(cache)}-{key}"
    pristine, stamp = os.path.join(cache, "pristine"), os.path.join(cache, "pristine.stamp")
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(stamp):
            print(f"npm app: reusing {pristine}")
            return pristine
        shutil.rmtree(pristine, ignore_errors=True)
        tmp = tempfile.mkdtemp(prefix="pristine.tmp.", dir=cache)
        os.chmod(tmp, 0o755)
        with open(os.path.join(tmp, "package.json"), "w") as f:
            json.dump(PACKAGE_JSON, f, indent=2)
        with open(os.path.join(tmp, "index.js"), "w") as f:
            f.write(INDEX_JS)
        cmd = ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts"]
        start = time.monotonic()
        p = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        print(f"npm app: `{' '.join(cmd)}` exited {p.returncode} after "
              f"{time.monotonic() - start:.0f} s")
        if p.returncode != 0:
            shutil.rmtree(tmp)
            sys.exit(f"npm app: npm install failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
        os.rename(tmp, pristine)
        with open(stamp, "w") as f:
            f.write(" ".join(cmd) + "\n")
    return pristine


def npm_ls(project, omit_dev):
    """Package directories npm lists (relative to the project), via npm ls."""
    cmd = ["npm", "ls", "--all", "--parseable"] + (["--omit=dev"] if omit_dev else [])
    p = subprocess.run(cmd, cwd=project, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        sys.exit(f"npm app: `{' '.join(cmd)}` failed: {p.stderr[-2000:]}")
    dirs = set()
    for line in p.stdout.splitlines():
        rel = os.path.relpath(line.strip(), project)
        if rel != ".":
            dirs.add(rel)
    return dirs


def own_bytes(top, skip_node_modules=True):
    """Apparent bytes of the regular files below top, nested node_modules left out."""
    total = 0
    for rel, _, st in pc.walk(top):
        if skip_node_modules and "node_modules" in rel.split("/"):
            continue
        if stat.S_ISREG(st.st_mode):
            total += st.st_size
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--cache", required=True, help="where the npm install is cached")
    ap.add_argument("--work", required=True, help="scratch directory (emptied first)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root(NAME)
    pc.need_tools(NAME, "node", "npm", "cp")
    checks = pc.Checks(NAME)
    pristine = installed_project(args.cache)
    all_pkgs, runtime_pkgs = npm_ls(pristine, False), npm_ls(pristine, True)
    dev_only = sorted(all_pkgs - runtime_pkgs)
    pristine_bytes = own_bytes(pristine, skip_node_modules=False)
    dev_bytes = sum(own_bytes(os.path.join(pristine, d)) for d in dev_only)
    runtime_bytes = own_bytes(pristine) + sum(own_bytes(os.path.join(pristine, d))
                                               for d in runtime_pkgs)
    print(f"npm ls: {len(all_pkgs)} packages, {len(runtime_pkgs)} at run time "
          f"({pc.mb(runtime_bytes)} with the project's own files), {len(dev_only)} dev-only "
          f"({pc.mb(dev_bytes)}); the project: {pc.mb(pristine_bytes)}")
    checks.check(len(dev_only) > 10 and dev_bytes > 20e6,
                 "the project has dev-only packages worth pruning (npm's own view)",
                 f"{len(dev_only)} packages, {dev_bytes:,} bytes")

    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    base = debian_root.root_for_test(args.root)
    root, out = os.path.join(work, "root"), os.path.join(work, "out")
    subprocess.run(["cp", "-a", "--reflink=auto", base, root], check=True)
    task = os.path.join(root, "var/task")
    subprocess.run(["cp", "-a", pristine, task], check=True)

    # 1. --out with the handler as an entry.
    report_file = os.path.join(work, "report.json")
    p = pc.run_elfprune(args.elfprune, ["prune", root, "--entry", "/usr/bin/node", "--entry",
                                        "/var/task/index.js", "--out", out, "--report",
                                        report_file])
    checks.check(p.returncode == 0, "prune --entry node --entry /var/task/index.js --out exits 0",
                 f"exit {p.returncode}: {p.stderr.strip()[-2000:]}")
    report = pc.load_report(report_file) or {}
    left = [d for d in dev_only if os.path.lexists(os.path.join(out, "var/task", d))]
    checks.check(not left, "no dev-only package (npm ls) is left in OUT",
                 f"{len(left)} of {len(dev_only)} left, e.g. {left[:5]}")
    missing = [d for d in runtime_pkgs if not os.path.isdir(os.path.join(out, "var/task", d))]
    checks.check(not missing, "every run-time package (npm ls --omit=dev) is in OUT",
                 f"missing {missing[:5]}")
    kept = own_bytes(os.path.join(out, "var/task"), skip_node_modules=False)
    ratio = kept / runtime_bytes
    print(f"/var/task: {pc.mb(pristine_bytes)} before, {pc.mb(kept)} in OUT; its own files and "
          f"run-time packages {pc.mb(runtime_bytes)}: ratio {ratio:.3f} (limit {BUDGET})")
    checks.check(ratio <= BUDGET, f"the project keeps at most {BUDGET}x its own files plus "
                 "its run-time packages", f"{kept:,} / {runtime_bytes:,} = {ratio:.3f}")
    typescript = [i for i in report.get("removed", [])
                  if i.get("path") == "/var/task/node_modules/typescript"]
    reason = (typescript[0].get("reason") or "") if typescript else ""
    checks.check("devDependency of orders-handler" in reason,
                 "the report says why typescript went", f"reason {reason!r}")
    listed = {p.get("path"): p for p in report.get("removed_packages", [])}
    ts = listed.get("/var/task/node_modules/typescript", {})
    checks.check(len(listed) == len(dev_only) and ts.get("bytes", 0) > 20e6 and
                 "devDependency of orders-handler" in ts.get("reason", ""),
                 "the report lists every dev-only package removed, with bytes and reason",
                 f"{len(listed)} listed, {len(dev_only)} dev-only; typescript: {ts}")
    checks.check(not os.path.lexists(os.path.join(out, "usr/bin/python3")),
                 "no python3 in OUT")
    pc.prepare_mountpoints(out)
    pc.check_workload(checks, "the handler runs chrooted in OUT", out,
                      ["/usr/bin/node", "/var/task/index.js"], EXPECT)
    pc.check_workload(checks, "node runs it as `node index.js` from /var/task too", out,
                      ["/usr/bin/node", "-e", "require('/var/task/index.js')"], EXPECT)

    # 2. The project alone, in place, no entries: npm prune --omit=dev.
    app = os.path.join(work, "app")
    subprocess.run(["cp", "-a", pristine, app], check=True)
    p = pc.run_elfprune(args.elfprune, ["prune", app, "--in-place", "--sysroot", "/"])
    checks.check(p.returncode == 0, "prune APP --in-place --sysroot / exits 0",
                 f"exit {p.returncode}: {p.stderr.strip()[-2000:]}")
    left = [d for d in dev_only if os.path.lexists(os.path.join(app, d))]
    checks.check(not left, "in place: every dev-only package is gone",
                 f"{len(left)} of {len(dev_only)} left, e.g. {left[:5]}")
    missing = [d for d in runtime_pkgs if not os.path.isdir(os.path.join(app, d))]
    checks.check(not missing, "in place: every run-time package stays", f"missing {missing[:5]}")
    print(f"in place: {pc.mb(pristine_bytes)} -> {pc.mb(own_bytes(app, False))}")
    r = subprocess.run(["node", "index.js"], cwd=app, capture_output=True, text=True, timeout=60)
    checks.check(r.returncode == 0 and r.stdout.strip() == EXPECT and not r.stderr.strip(),
                 "in place: the handler still runs",
                 f"exit {r.returncode}, stdout {r.stdout.strip()!r}, stderr {r.stderr[-1500:]!r}")
    return pc.finish(checks, work)


if __name__ == "__main__":
    sys.exit(main())
