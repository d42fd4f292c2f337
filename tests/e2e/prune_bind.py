#!/usr/bin/env python3
"""e2e.prune.bind: a prune whose --rewrite-ref moves a plugin's host to a
build lacking a symbol the plugin binds to fails before anything is written.

    prune_bind.py --elfprune BIN --work DIR

A tiny root made here (the host's ld.so and libc, Debian's merged /usr):
  - /usr/bin/node: a host program built with -rdynamic, exporting napi_a and
    napi_b; it dlopen()s the addon named on its command line (RTLD_NOW) and
    calls it;
  - /opt/slim/bin/node: the same program without napi_b;
  - /usr/lib/node_modules/app/addon.node: an addon calling napi_a and napi_b,
    which it leaves undefined for its host to supply.
The real loader is the oracle: run chrooted, /usr/bin/node loads the addon,
/opt/slim/bin/node fails with "undefined symbol: napi_b". `elfprune deps
--bind --host` says the same of each host. Then `prune --rewrite-ref
/usr/bin/node=/opt/slim/bin/node` (every kept reference to the full node
then names the slim one) must fail, exit 1, naming the addon, napi_b and
the host that defined it, both --in-place (nothing removed) and --out
(nothing written); and the same prune without the rewrite succeeds.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

from prune_common import Checks, need_root

HOST_C = r"""
#include <dlfcn.h>
#include <stdio.h>
int napi_a(void) { return 1; }
#ifndef SLIM
int napi_b(void) { return 2; }
#endif
int main(int argc, char** argv) {
  if (argc < 2) return 0;
  void* h = dlopen(argv[1], RTLD_NOW);
  if (!h) { fprintf(stderr, "%s\n", dlerror()); return 3; }
  int (*init)(void) = (int (*)(void))dlsym(h, "addon_init");
  return init && init() == 3 ? 0 : 4;
}
"""
ADDON_C = "int napi_a(void);\nint napi_b(void);\nint addon_init(void) { return napi_a() + napi_b(); }\n"
LOADER = "/lib64/ld-linux-x86-64.so.2"
MULTIARCH = "/usr/lib/x86_64-linux-gnu"
ADDON = "/usr/lib/node_modules/app/addon.node"
JUNK = "/usr/share/doc/app/README"  # a file every prune here removes


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def gcc(c, *args):
    p = sh(["gcc", "-O1", *args])
    if p.returncode != 0:
        c.fail("gcc " + " ".join(args), p.stderr)
        raise SystemExit(c.finish())


def make_root(c, work, name):
    src = os.path.join(work, "src")
    root = os.path.join(work, name)
    shutil.rmtree(root, ignore_errors=True)
    for d in ("usr/bin", MULTIARCH[1:], "usr/lib64", "opt/slim/bin", os.path.dirname(ADDON)[1:],
              os.path.dirname(JUNK)[1:]):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for d in ("bin", "lib", "lib64"):
        os.symlink(f"usr/{d}", os.path.join(root, d))
    shutil.copy2(os.path.realpath(LOADER), os.path.join(root, "usr/lib64/ld-linux-x86-64.so.2"))
    shutil.copy2(os.path.realpath(f"{MULTIARCH}/libc.so.6"), os.path.join(root, MULTIARCH[1:], "libc.so.6"))
    for built, inside in (("node-full", "/usr/bin/node"), ("node-slim", "/opt/slim/bin/node"),
                          ("addon.node", ADDON)):
        shutil.copy2(os.path.join(src, built), os.path.join(root, inside[1:]))
    with open(os.path.join(root, JUNK[1:]), "w") as f:
        f.write("documentation\n")
    return root


def prune_args(root):
    return [root, "--entry", "/usr/bin/node", "--entry", "/opt/slim/bin/node", "--keep", ADDON,
            "--json"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    need_root("e2e.prune.bind")
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    src = os.path.join(work, "src")
    os.makedirs(src)
    c = Checks("e2e.prune.bind")
    for name, text in (("host.c", HOST_C), ("addon.c", ADDON_C)):
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    gcc(c, "-rdynamic", "-o", os.path.join(src, "node-full"), os.path.join(src, "host.c"))
    gcc(c, "-DSLIM", "-rdynamic", "-o", os.path.join(src, "node-slim"), os.path.join(src, "host.c"))
    gcc(c, "-shared", "-fPIC", "-o", os.path.join(src, "addon.node"), os.path.join(src, "addon.c"))
    root = make_root(c, work, "root")

    # The oracle: the real loader, chrooted.
    full = sh(["chroot", root, "/usr/bin/node", ADDON])
    slim = sh(["chroot", root, "/opt/slim/bin/node", ADDON])
    c.check(full.returncode == 0, "the real loader: /usr/bin/node loads and runs the addon",
            f"exit {full.returncode}: {full.stderr.strip()}")
    c.check(slim.returncode == 3 and "undefined symbol: napi_b" in slim.stderr,
            "the real loader: /opt/slim/bin/node fails on napi_b", f"exit {slim.returncode}: {slim.stderr.strip()}")

    # deps --bind --host says the same.
    for host, want in (("/usr/bin/node", []), ("/opt/slim/bin/node", ["napi_b"])):
        p = sh([a.elfprune, "deps", "--root", root, "--bind", "--host", host, "--json", ADDON])
        try:
            undefined = json.loads(p.stdout)["objects"][0]["undefined"]
        except (ValueError, KeyError, IndexError):
            c.fail(f"deps --bind --host {host}: JSON", p.stdout[:300] + p.stderr[:300])
            continue
        c.check([u["symbol"] for u in undefined] == want and p.returncode == (1 if want else 0),
                f"deps --bind --host {host}: undefined {want}, exit {1 if want else 0}",
                f"exit {p.returncode}: {json.dumps(undefined)}")

    # Without a rewrite, the prune succeeds (and removes the junk).
    plain = make_root(c, work, "plain")
    p = sh([a.elfprune, "prune", *prune_args(plain), "--in-place"])
    c.check(p.returncode == 0 and not os.path.exists(os.path.join(plain, JUNK[1:])),
            "prune --in-place without a rewrite succeeds and removes the junk",
            f"exit {p.returncode}: {p.stderr.strip()[:400]}")

    rewrite = ["--rewrite-ref", "/usr/bin/node=/opt/slim/bin/node"]
    for mode in ("--in-place", "--out"):
        target = make_root(c, work, "in-place" if mode == "--in-place" else "source")
        out = os.path.join(work, "out")
        shutil.rmtree(out, ignore_errors=True)
        args = [a.elfprune, "prune", *prune_args(target), *rewrite]
        args += ["--in-place"] if mode == "--in-place" else ["--out", out]
        p = sh(args)
        try:
            report = json.loads(p.stdout)
        except ValueError:
            c.fail(f"prune {mode} --rewrite-ref: JSON report", p.stdout[:300] + p.stderr[:300])
            continue
        said = json.dumps(report.get("problems", [])) + p.stderr
        c.check(p.returncode == 1, f"prune {mode} --rewrite-ref to the slim host exits 1",
                f"exit {p.returncode}: {said[:400]}")
        c.check(ADDON in said and "napi_b" in said and "/usr/bin/node" in said,
                f"prune {mode}: the problem names the addon, napi_b and the host that defined it",
                said[:600])
        if mode == "--in-place":
            c.check(os.path.exists(os.path.join(target, JUNK[1:])) and
                    open(os.path.join(target, "usr/bin/node"), "rb").read() ==
                    open(os.path.join(src, "node-full"), "rb").read(),
                    "prune --in-place: nothing was removed or edited")
        else:
            c.check(not os.path.exists(out) or not os.listdir(out), "prune --out: nothing was written",
                    str(os.listdir(out)) if os.path.exists(out) else "")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
