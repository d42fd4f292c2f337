#!/usr/bin/env python3
"""e2e.prune.npm_lambda_ric: prune an npm project holding aws-lambda-ric
(a native addon whose install builds curl and aws-lambda-cpp from bundled
sources with node-gyp) in place, without entries, as a postInstall hook
would, and check that at most 1% of it remains and it still works.

    prune_npm_lambda_ric.py --elfprune BIN --cache BUILD/npm-lambda-ric

On a `cp -a` copy of the cached install (npm_tree.py):
1. before pruning, the checks of step 3 pass (else the install is broken,
   not elfprune);
2. `elfprune prune DIR --in-place --sysroot / --report R.json` exits 0;
3. measured independently (apparent bytes of regular files, each inode
   once): at most 1% of the bytes remain; no *.py file remains;
   node_modules/aws-lambda-ric/dist/rapid-client.node is kept; in DIR, with
   a clean environment, `node -e "import('aws-lambda-ric')..."` prints
   "object function" and nothing on stderr, and the addon itself loads
   (require of rapid-client.node, with the AWS_LAMBDA_RUNTIME_API the
   Lambda runtime sets) and exports next/done/error.
"""
import argparse
import os
import shutil
import sys

import npm_tree
import prune_common as pc

LIMIT = 0.01
def by_package(tree):
    """{top-level package dir: bytes} of the regular files left."""
    sizes = {}
    for path, size in pc.regular_files(tree).items():
        parts = path.strip("/").split("/")
        key = "/".join(parts[:3] if len(parts) > 2 and parts[1].startswith("@") else parts[:2])
        sizes[key] = sizes.get(key, 0) + size
    return sizes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--cache", required=True, help="the cache directory of npm_tree.py")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    node = shutil.which("node")
    if node is None:
        sys.exit("prune.npm_lambda_ric: node is not installed (scripts/setup.sh installs it)")
    pristine = npm_tree.ensure_pristine(args.cache)
    checks = pc.Checks("prune.npm_lambda_ric")
    tree = npm_tree.scratch_copy(pristine, args.cache, "npm")
    run(checks, args.elfprune, node, tree)
    status = checks.finish()
    if status == 0:
        npm_tree.remove_scratch(tree)
    else:
        print(f"left for inspection (removed by the next run): {os.path.dirname(tree)}")
    return status


def run(checks, elfprune, node, tree):
    report_file = os.path.join(os.path.dirname(tree), "report.json")
    if not npm_tree.node_checks(checks, node, tree, "before pruning"):
        checks.fail("the unpruned install works (it does not: the install, not elfprune, is broken)")
        return
    before_files, before = pc.tree_size(tree)
    p = pc.run_elfprune(elfprune, ["prune", tree, "--in-place", "--sysroot", "/",
                                   "--report", report_file])
    checks.check(p.returncode == 0, "prune DIR --in-place --sysroot / exits 0", f"exit {p.returncode}")
    report = pc.load_report(report_file)
    checks.check(report is not None, "the report is written and is JSON")
    after_files, after = pc.tree_size(tree)
    share = after / before
    print(f"npm tree: before {before_files} files, {before:,} bytes; after {after_files} files, "
          f"{after:,} bytes = {100 * share:.2f}% (limit {100 * LIMIT:.0f}%)")
    if report:
        print(f"report: before {report.get('before')}, after {report.get('after')}, "
              f"{len(report.get('warnings', []))} warnings, problems {report.get('problems')}")
    checks.check(share <= LIMIT, f"at most {100 * LIMIT:.0f}% of the bytes remain",
                 f"{after:,} of {before:,} = {100 * share:.2f}%")
    if share > LIMIT:
        pc.print_largest("largest packages left:", by_package(tree), 15)
        pc.print_largest("largest files left:", pc.regular_files(tree), 15)
    py = sorted(path for path, _, _ in pc.walk(tree) if path.endswith(".py"))
    checks.check(not py, "no *.py file remains", f"{len(py)} left" + (f": {py[:8]}" if py else ""))
    checks.check(os.path.isfile(os.path.join(tree, npm_tree.ADDON)), f"{npm_tree.ADDON} is kept")
    npm_tree.node_checks(checks, node, tree, "after pruning")


if __name__ == "__main__":
    sys.exit(main())
