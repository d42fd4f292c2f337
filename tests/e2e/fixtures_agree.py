#!/usr/bin/env python3
"""e2e.fixtures.loader_agrees: on every fixture root (fixtures/README.md),
`elfprune deps` agrees with the real loader, and gives the certain answers
listed in index.json (a `via` tag, a real path, a missing name).

    fixtures_agree.py --elfprune BIN --index BUILD/fixtures/index.json

A root marked "agree": false is not compared with the loader (the reason is
printed); its expectations are still checked. Exit status 0 only if all pass.
"""
import argparse
import json
import os
import sys

import loader_compare as lc


def check_expectations(root, objects):
    """Failure messages for the root's expectations."""
    failures = []
    for e in root["expect"]:
        obj = objects.get(e["file"], {})
        libs = [lib for lib in obj.get("libraries", []) if lib["name"] == e["name"]]
        got = ", ".join(f"{lib['realpath']} via {lib.get('via')}" for lib in libs) or "nothing"
        ok = any(lib["realpath"] == e["realpath"] and e.get("via", lib.get("via")) == lib.get("via")
                 for lib in libs)
        if not ok:
            want = e["realpath"] + (f" via {e['via']}" if "via" in e else "")
            failures.append(f"{e['file']}: {e['name']}: expected {want}, got {got}")
    for e in root["expect_missing"]:
        obj = objects.get(e["file"], {})
        if e["name"] not in {m["name"] for m in obj.get("missing", [])}:
            failures.append(f"{e['file']}: expected {e['name']} missing, it is not")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--index", required=True)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # keep order with stderr
    if os.geteuid() != 0:
        sys.exit("fixtures: chroot needs root; run the end-to-end tests as root")
    with open(args.index) as f:
        roots = json.load(f)["roots"]
    base = os.path.dirname(os.path.abspath(args.index))
    totals = {"files": 0, "agree": 0, "disagree": 0, "refused": 0, "expect": 0, "failed": 0}
    for root in roots:
        path = os.path.join(base, root["dir"])
        files = [f["file"] for f in root["files"]]
        execute = {f["file"]: f["exec_realfile"] for f in root["files"] if "exec_realfile" in f}
        print(f"== {root['name']}: {root['about']}")
        try:
            objects = lc.run_elfprune(args.elfprune, path, files)
        except RuntimeError as e:
            print(f"FAIL {root['name']}: {e}")
            totals["disagree"] += len(files)
            continue
        if root["agree"]:
            agree, disagree, refused = lc.compare(path, root["loader"], files, objects, execute)
            for file, said in refused.items():
                print(f"REFUSED {file}: the loader said: {said}")
            totals["files"] += len(files)
            totals["agree"] += len(agree)
            totals["disagree"] += len(disagree)
            totals["refused"] += len(refused)
        else:
            print(f"NOT COMPARED with the loader, by design (see above): {', '.join(files)}")
        failures = check_expectations(root, objects)
        for msg in failures:
            print(f"EXPECTATION FAILED {msg}")
        totals["expect"] += len(root["expect"]) + len(root["expect_missing"])
        totals["failed"] += len(failures)
    print(f"fixtures: {len(roots)} roots, {totals['files']} files compared, {totals['agree']} agree, "
          f"{totals['disagree']} disagree, {totals['refused']} refused by the loader; "
          f"{totals['expect']} expectations, {totals['failed']} failed")
    bad = totals["disagree"] + totals["refused"] + totals["failed"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
