#!/usr/bin/env python3
"""e2e.prune.trace: `elfprune trace` then `prune --trace` on the Debian
test root, for a Python and a Perl workload that import several modules at
run time.

    prune_trace.py --elfprune BIN --root DEBIAN_ROOT --work DIR

For each workload:
1. `trace ROOT -o T -- WORKLOAD` exits 0, prints what the workload prints,
   and T shows the interpreter executed (an `execve ok` and an `exe` line).
2. `prune ROOT --trace T --out D --json`: the workload, run chrooted in D,
   prints what it prints in ROOT, and D holds at most 1.15x the bytes of
   the files an strace of the same run in ROOT opens or executes (with the
   interpreters the kernel loads). The figure beside it: what static
   pruning (`--entry` the interpreter) keeps, for the README.
3. The report's trace section lists failed probes as search paths, none
   of them kept; `why` names the trace line that kept a module.
4. `prune --trace T --out D2 --check WORKLOAD` passes.
Then ROOT is unchanged (entry count and a metadata checksum before and
after every run), and bad trace files are refused with exit 2 naming the
file and line: one that does not parse, a relative path, a bad escape, a
file that does not exist; `trace -o` where no file can
be written is exit 2 naming it.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import debian_root
from prune_common import (Checks, fingerprint, json_of, mb, need_root, prepare_mountpoints, run_in_root, trace_in_root,
                          tree_size)

RATIO = 1.15

PYTHON = r"""
import importlib
names = ["json", "email.parser", "decimal", "fractions", "statistics", "xml.dom.minidom",
         "csv", "argparse", "logging", "hashlib", "urllib.parse", "base64", "gzip", "textwrap",
         "cProfile", "timeit"]
mods = [importlib.import_module(n) for n in names]
frac = importlib.import_module("fractions").Fraction(1, 3)
print(len(mods), mods[0].dumps({"third": str(frac)}), mods[9].sha256(b"x").hexdigest()[:12])
""".strip()

PERL = r"""
for my $m (qw(POSIX List::Util Data::Dumper File::Spec Time::Local Text::Wrap Storable Digest::MD5 Getopt::Long)) {
  eval "require $m; 1" or die $@;
}
print scalar(List::Util::sum(1, 2, 3)), " ", Digest::MD5::md5_hex("x"), "\n";
""".strip()

WORKLOADS = [
    ("python", ["/usr/bin/python3", "-c", PYTHON], "/usr/bin/python3", "/usr/lib/python3.11/json/decoder.py"),
    ("perl", ["/usr/bin/perl", "-e", PERL], "/usr/bin/perl", None),
]


def sh(cmd, timeout=900):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)





def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    need_root("e2e.prune.trace")
    c = Checks("e2e.prune.trace")
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    root = debian_root.root_for_test(a.root)
    before = fingerprint(root)
    figures = []

    for name, argv, interpreter, module in WORKLOADS:
        expected = run_in_root(root, argv)
        if expected.returncode != 0:
            c.fail(f"{name}: the workload runs in the root", expected.stderr[-800:])
            continue
        trace = os.path.join(work, f"{name}.trace")
        p = sh([a.elfprune, "trace", root, "-o", trace, "--", *argv])
        lines = open(trace).read().splitlines() if os.path.exists(trace) else []
        c.check(p.returncode == 0 and p.stdout == expected.stdout, f"{name}: trace runs the workload (exit 0, its output)",
                f"exit {p.returncode}, stdout {p.stdout!r}, expected {expected.stdout!r}; {p.stderr[-600:]}")
        c.check(any(" execve ok " in l for l in lines) and any(" exe ok " in l for l in lines)
                and lines[-1] == "# exit: 0", f"{name}: the trace shows the exec, the program and the exit",
                "\n".join(lines[:8] + lines[-2:]))

        out = os.path.join(work, f"{name}-out")
        p = sh([a.elfprune, "prune", root, "--trace", trace, "--out", out, "--json"])
        report = json_of(c, f"{name}: prune --trace", p)
        c.check(p.returncode == 0, f"{name}: prune --trace --out exits 0", f"exit {p.returncode}: {p.stderr[-800:]}")
        if report is None or not os.path.isdir(out):
            continue
        prepare_mountpoints(out)
        got = run_in_root(out, argv)
        c.check(got.returncode == 0 and got.stdout == expected.stdout,
                f"{name}: the workload runs chrooted in the pruned tree",
                f"exit {got.returncode}, stdout {got.stdout!r}; stderr {got.stderr[-800:]}")
        strace_run, opened = trace_in_root(root, argv, work, name)
        opened_bytes = sum(opened.values())
        files, kept = tree_size(out)
        ratio = kept / opened_bytes if opened_bytes else float("inf")
        c.check(strace_run.returncode == 0 and opened_bytes > 0 and ratio <= RATIO,
                f"{name}: the pruned tree holds at most {RATIO}x the bytes strace sees the run open",
                f"pruned {mb(kept)} in {files} files; strace: {mb(opened_bytes)} in {len(opened)} files; "
                f"ratio {ratio:.3f}")
        t = report.get("trace", {})
        search = set(t.get("search_paths", []))
        kept_paths = {e["path"] for e in report.get("kept", []) if isinstance(e, dict)}
        c.check(search and not (search & kept_paths) and t.get("events", 0) >= len(lines) - 5,
                f"{name}: failed probes are listed as search paths, none kept",
                f"{len(search)} search paths, kept among them: {sorted(search & kept_paths)[:5]}")
        if module:
            w = sh([a.elfprune, "why", root, module, "--trace", trace])
            c.check(w.returncode == 0 and f"{trace}:" in w.stdout and "kept" in w.stdout,
                    f"{name}: why names the trace line that kept {module}", w.stdout[:500] + w.stderr[-300:])
        static = sh([a.elfprune, "prune", root, "--entry", interpreter, "--dry-run", "--json"])
        static_report = json_of(c, f"{name}: static prune", static)
        static_bytes = static_report["after"]["bytes"] if static_report else 0
        figures.append((name, opened_bytes, kept, static_bytes))

        checked = os.path.join(work, f"{name}-checked")
        p = sh([a.elfprune, "prune", root, "--trace", trace, "--out", checked, "--json",
                "--check", " ".join(["'" + x.replace("'", "'\\''") + "'" for x in argv])])
        r = json_of(c, f"{name}: --check", p)
        c.check(p.returncode == 0 and r is not None and r.get("checks") and r["checks"][0]["passed"],
                f"{name}: prune --trace --check WORKLOAD passes", f"exit {p.returncode}: {json.dumps((r or {}).get('checks'))[:600]}")
        shutil.rmtree(checked, ignore_errors=True)

    print("\nworkload   strace opens   --trace keeps   static keeps")
    for name, opened_bytes, kept, static_bytes in figures:
        print(f"{name:<10} {mb(opened_bytes):>12}   {mb(kept):>9} ({kept / opened_bytes:.2f}x)"
              f"   {mb(static_bytes):>9} ({static_bytes / opened_bytes:.1f}x)")

    # Bad trace files.
    bad = {
        "garbage": "# elfprune trace 1\nthis is not an event\n",
        "relative": "# elfprune trace 1\n1 openat ok usr/bin/perl\n",
        "escape": "# elfprune trace 1\n1 openat ok /usr/bin/\\q\n",
    }
    for label, text in bad.items():
        f = os.path.join(work, f"bad-{label}.trace")
        with open(f, "w") as out:
            out.write(text)
        p = sh([a.elfprune, "prune", root, "--trace", f, "--dry-run"])
        c.check(p.returncode == 2 and f"{f}:2" in p.stderr and "Traceback" not in p.stderr,
                f"a trace file with {label} line is refused with exit 2, naming file and line",
                f"exit {p.returncode}: {p.stderr.strip()[:300]}")
    missing = os.path.join(work, "no-such.trace")
    p = sh([a.elfprune, "prune", root, "--trace", missing, "--dry-run"])
    c.check(p.returncode == 2 and missing in p.stderr, "a trace file that does not exist: exit 2, named",
            f"exit {p.returncode}: {p.stderr.strip()[:300]}")

    unwritable = os.path.join(work, "no-such-dir", "x.trace")
    p = sh([a.elfprune, "trace", root, "-o", unwritable, "--", "/usr/bin/perl", "-e", "1"])
    c.check(p.returncode == 2 and unwritable in p.stderr and not os.path.exists(os.path.dirname(unwritable)),
            "trace -o in a directory that does not exist: exit 2, the file named",
            f"exit {p.returncode}: {p.stderr.strip()[:300]}")

    after = fingerprint(root)
    c.check(after == before, "the root is unchanged (entries and metadata)", f"{before} -> {after}")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
