#!/usr/bin/env python3
"""e2e.prune.why: `elfprune why` explains decisions in the Debian 12 root
with --entry /usr/bin/node.

    prune_why.py --elfprune BIN --root BUILD/debian-root

1. ICU's data library (libicudata.so.<version>, the real file found in the
   root): kept, and the chain names /usr/bin/node, libnode and libicuuc
   (node needs libnode, which needs libicuuc, which needs libicudata); the
   chain is connected (every `from` is a path of the chain) and reaches
   the file; the text form says the same;
2. a Debian changelog under /usr/share/doc/nodejs: removed by rule `docs`;
3. SQLite's library, which only Python's sqlite3 module uses: removed,
   with no rule (unreachable from node).
"""
import argparse
import glob
import json
import os
import sys

import debian_root
import prune_common as pc

ENTRY = "/usr/bin/node"


def why(checks, elfprune, root, path, json_out):
    args = ["why", root, path, "--entry", ENTRY] + (["--json"] if json_out else [])
    p = pc.run_elfprune(elfprune, args, timeout=600)
    if not checks.check(p.returncode == 0, f"why {path}{' --json' if json_out else ''} exits 0",
                        f"exit {p.returncode}"):
        return None
    if not json_out:
        return p.stdout
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        checks.fail(f"why {path} --json prints JSON", str(e))
        return None


def real_file(root, pattern):
    """The one regular file (not symlink) matching pattern inside root."""
    found = [p for p in glob.glob(os.path.join(root, pattern.lstrip("/")))
             if os.path.isfile(p) and not os.path.islink(p)]
    if len(found) != 1:
        sys.exit(f"prune.why: expected one regular file {pattern} in {root}, found {found}")
    return "/" + os.path.relpath(found[0], root)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root("prune.why")  # to build the Debian root if needed
    root = debian_root.root_for_test(args.root)
    checks = pc.Checks("prune.why")

    icudata = real_file(root, "/usr/lib/x86_64-linux-gnu/libicudata.so.*.*")
    doc = "/usr/share/doc/nodejs/changelog.Debian.gz"
    sqlite = real_file(root, "/usr/lib/x86_64-linux-gnu/libsqlite3.so.*.*.*")
    if not os.path.isfile(os.path.join(root, doc.lstrip("/"))):
        sys.exit(f"prune.why: {doc} is not in {root}")

    d = why(checks, args.elfprune, root, icudata, True)
    if d is not None:
        chain = d.get("chain") or []
        paths = [c.get("path", "") for c in chain]
        words = " ".join(f"{c.get('path')} {c.get('from')} {c.get('detail')}" for c in chain)
        checks.check(d.get("keep") is True and d.get("path") == icudata,
                     f"{icudata} is kept", f"path {d.get('path')}, keep {d.get('keep')}")
        for name in (ENTRY, "libnode", "libicuuc"):
            checks.check(name in words, f"the chain names {name}", " -> ".join(paths))
        dangling = [c.get("from") for c in chain if c.get("from") and c.get("from") not in paths]
        checks.check(icudata in paths and not dangling,
                     "the chain is connected and reaches the file",
                     f"paths {paths}; `from` not in the chain: {dangling}")
    text = why(checks, args.elfprune, root, icudata, False)
    if text is not None:
        checks.check("kept" in text and all(n in text for n in (ENTRY, "libnode", "libicuuc")),
                     "the text form says kept and names node, libnode and libicuuc")

    d = why(checks, args.elfprune, root, doc, True)
    if d is not None:
        checks.check(d.get("keep") is False and d.get("rule") == "docs",
                     f"{doc} is removed by rule docs", f"keep {d.get('keep')}, rule {d.get('rule')!r}, "
                     f"reason {d.get('reason')!r}")

    d = why(checks, args.elfprune, root, sqlite, True)
    if d is not None:
        checks.check(d.get("keep") is False and d.get("rule") in (None, ""),
                     f"{sqlite} is removed, by no rule (unreachable)",
                     f"keep {d.get('keep')}, rule {d.get('rule')!r}, reason {d.get('reason')!r}")
    text = why(checks, args.elfprune, root, sqlite, False)
    if text is not None:
        checks.check("removed" in text, "the text form says removed")
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
