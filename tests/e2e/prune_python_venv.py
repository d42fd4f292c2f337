#!/usr/bin/env python3
"""e2e.prune.python_venv: a Flask application in a venv survives pruning,
C extension included, and Python's build tools go.

    prune_python_venv.py --elfprune BIN --root CACHE/debian-root --work DIR [--cache DIR]

--root is the Debian root's base path as the other tests take it (or the
keyed path debian_root.py prints); the .debs are cached beside it (--cache,
by default the directory holding --root).

1. A copy of the Debian 12 root (python3, perl, nodejs) gets, chrooted,
   `python3 -m venv --without-pip /app/venv` (Debian's python3 makes one
   without python3-venv when pip is left out), then the packages as pip
   lays them out: the contents of Debian's python3-flask, -werkzeug,
   -jinja2, -markupsafe (a C extension, markupsafe._speedups), -itsdangerous,
   -click, -blinker, -colorama, and of python3-pip, -setuptools,
   -pkg-resources, -wheel, from their /usr/lib/python3/dist-packages into
   the venv's site-packages with their *.dist-info and *.egg-info, and the
   console scripts pip would write in bin/. The .debs come from
   `apt-get download` on this (Debian 12) host, cached in the test cache
   under a name keyed by their names and versions. Debian's werkzeug links
   its debugger's jquery.js to libjs-jquery, which a pip install does not
   have: that dangling link is dropped. MarkupSafe's wheel ships
   _speedups.c beside the extension and Debian's package does not: a
   stand-in source is written there for the rule python-sources.
2. /app/main.py (`#!/app/venv/bin/python`) renders a Flask template
   through the test client and prints one JSON line, saying whether
   markupsafe._speedups is loaded. It must print exactly that in the full
   root first (else the workload, not elfprune, is wrong).
3. `elfprune prune ROOT --entry /app/main.py --out OUT`: exit 0, and
   `chroot OUT /app/main.py` (chroot_run.py: clean environment, read-only)
   prints exactly the same line, the C extension loaded; nothing of node is
   left; pip, setuptools (with pkg_resources, _distutils_hack and
   distutils-precedence.pth) and wheel are gone with their metadata and
   launchers, and Python finds neither them nor their distributions; the
   stand-in C source is gone; `why` names the sys.path edge. The venv's size
   before and after is printed.
4. A module in site-packages that imports pkg_resources at run time: the
   next prune keeps setuptools, with a warning naming that module, and
   still removes pip and wheel; the module imports chrooted in that OUT.
5. Without entries, as a build step would: `elfprune prune ROOT/app
   --sysroot ROOT --in-place` keeps setuptools for that module, removes pip
   and wheel (their launchers' imports do not count: they go with them),
   and the app still runs chrooted in ROOT.
"""
import argparse
import configparser
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys

import debian_root
import prune_common as pc

RUNTIME_DEBS = ["python3-flask", "python3-werkzeug", "python3-jinja2", "python3-markupsafe",
                "python3-itsdangerous", "python3-click", "python3-blinker", "python3-colorama"]
BUILD_TOOL_DEBS = ["python3-pip", "python3-setuptools", "python3-pkg-resources", "python3-wheel"]
STAMP = ".elfprune-debs-complete"

VENV = "/app/venv"
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"

MAIN = r'''#!/app/venv/bin/python
import importlib.metadata
import json
import sys

import flask
import markupsafe

app = flask.Flask(__name__)


@app.route("/hello/<name>")
def hello(name):
    return flask.render_template_string("<p>{{ greeting }}, {{ name }}!</p>", greeting="Hello",
                                        name=name)


with app.test_client() as client:
    body = client.get("/hello/%3Cb%3E%26co").get_data(as_text=True)
print(json.dumps({
    "marker": "elfprune-python-venv-ok",
    "body": body,
    "speedups_loaded": "markupsafe._speedups" in sys.modules,
    "escape_is_c": type(markupsafe.escape).__name__ == "builtin_function_or_method",
    "prefix": [sys.prefix, sys.base_prefix],
    "flask": importlib.metadata.version("flask"),
}))
'''
EXPECT = ('{"marker": "elfprune-python-venv-ok", "body": "<p>Hello, &lt;b&gt;&amp;co!</p>", '
          '"speedups_loaded": true, "escape_is_c": true, "prefix": ["/app/venv", "/usr"], '
          '"flask": "2.2.2"}')

# What Python finds of the build tools, run with the venv's python.
TOOLS_PROBE = r'''
import importlib.metadata, importlib.util, json
mods = ["pip", "setuptools", "pkg_resources", "_distutils_hack", "wheel"]
dists = sorted({(d.metadata["Name"] or "?").lower() for d in importlib.metadata.distributions()})
print(json.dumps({"modules": [m for m in mods if importlib.util.find_spec(m)], "dists": dists}))
'''

# A pip-installed package whose code needs pkg_resources when it runs.
PLUGINS = '''"""Finds plugins the old way."""
import pkg_resources


def plugins():
    return [ep.name for ep in pkg_resources.iter_entry_points("app.plugins")]
'''

# pip's console-script launcher (pip/_internal/operations/install: the
# distlib template), as `pip install` writes one for each entry point.
LAUNCHER = '''#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from {module} import {func}
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit({func}())
'''


def candidate_versions(names):
    """{name: candidate version} from apt's lists, or None when apt cannot say."""
    p = subprocess.run(["apt-cache", "show", "--no-all-versions"] + names, capture_output=True,
                       text=True)
    if p.returncode != 0:
        return None
    versions, name = {}, None
    for line in p.stdout.splitlines():
        if line.startswith("Package: "):
            name = line.split(None, 1)[1]
        elif line.startswith("Version: ") and name:
            versions[name] = line.split(None, 1)[1]
    return versions if set(versions) == set(names) else None


def cached_debs(cache, names):
    """The .deb files of `names`, downloaded once into the test cache under a
    name keyed by the packages and their candidate versions (a new point
    release makes a new download). Serialised on a lock beside it."""
    versions = candidate_versions(names)
    if versions is None:
        # No apt lists: a cache made earlier for the same names will do.
        key_names = hashlib.sha256(" ".join(sorted(names)).encode()).hexdigest()[:12]
        found = sorted(glob.glob(os.path.join(cache, f"python-debs-{key_names}-*", STAMP)))
        if not found:
            sys.exit("python debs: apt-cache cannot name the versions (apt-get update?) and "
                     "nothing is cached")
        path = os.path.dirname(found[-1])
        print(f"python debs: apt-cache cannot say; reusing {path}")
        return sorted(glob.glob(os.path.join(path, "*.deb")))
    spec = " ".join(f"{n}={versions[n]}" for n in sorted(names))
    key_names = hashlib.sha256(" ".join(sorted(names)).encode()).hexdigest()[:12]
    key = hashlib.sha256(spec.encode()).hexdigest()[:12]
    path = os.path.join(cache, f"python-debs-{key_names}-{key}")
    os.makedirs(cache, exist_ok=True)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(path, STAMP)):
            shutil.rmtree(path, ignore_errors=True)
            tmp = path + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp)
            print(f"python debs: apt-get download {spec}", flush=True)
            p = subprocess.run(["apt-get", "download"] + [f"{n}={versions[n]}" for n in names],
                               cwd=tmp, capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"python debs: apt-get download failed ({p.returncode}): "
                         f"{p.stderr.strip()[-1500:]}")
            with open(os.path.join(tmp, STAMP), "w") as f:
                f.write(spec + "\n")
            os.rename(tmp, path)
        else:
            print(f"python debs: reusing {path} ({spec})")
    return sorted(glob.glob(os.path.join(path, "*.deb")))


def chroot_setup(root, argv):
    """Run argv chrooted in root, writable (the setup, not the workload)."""
    p = subprocess.run([CHROOT, root, "/usr/bin/env", "-i", "PATH=/usr/bin:/bin"] + argv,
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"setup: {' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def install_like_pip(root, debs, work):
    """The dist-packages contents of `debs` in the venv's site-packages, and
    the console scripts pip would write. Returns the site-packages path inside."""
    libs = glob.glob(os.path.join(root, VENV.lstrip("/"), "lib", "python3.*"))
    if len(libs) != 1:
        sys.exit(f"setup: expected one lib/python3.X in the venv, found {libs}")
    site_inside = f"{VENV}/lib/{os.path.basename(libs[0])}/site-packages"
    site = os.path.join(root, site_inside.lstrip("/"))
    unpacked = os.path.join(work, "unpacked")
    shutil.rmtree(unpacked, ignore_errors=True)
    for deb in debs:
        subprocess.run(["dpkg-deb", "-x", deb, unpacked], check=True)
    dist = os.path.join(unpacked, "usr/lib/python3/dist-packages")
    for name in sorted(os.listdir(dist)):
        subprocess.run(["cp", "-a", os.path.join(dist, name), site], check=True)
    for dirpath, dirs, files in os.walk(site):
        for name in dirs + files:
            host = os.path.join(dirpath, name)
            if os.path.islink(host) and not os.path.exists(host):
                print(f"setup: dropping {host[len(root):]} -> {os.readlink(host)} (Debian's link "
                      "to a package a pip install does not have)")
                os.unlink(host)
    # pip writes a launcher per console_scripts entry point.
    for ep_file in sorted(glob.glob(os.path.join(site, "*-info", "entry_points.txt"))):
        parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
        parser.optionxform = str
        parser.read(ep_file)
        if not parser.has_section("console_scripts"):
            continue
        for script, target in parser.items("console_scripts"):
            module, func = target.split(":")
            path = os.path.join(root, VENV.lstrip("/"), "bin", script)
            with open(path, "w") as f:
                f.write(LAUNCHER.format(python=f"{VENV}/bin/python3", module=module.strip(),
                                        func=func.strip()))
            os.chmod(path, 0o755)
    # MarkupSafe's wheel ships its extension's source; Debian's package does not.
    with open(os.path.join(site, "markupsafe", "_speedups.c"), "w") as f:
        f.write("/* stand-in for the source MarkupSafe's wheel installs */\n"
                "#include <Python.h>\n")
    return site_inside


def inside(root, path):
    return os.path.join(root, path.lstrip("/"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True, help="scratch directory (emptied first)")
    ap.add_argument("--cache", help="where the .debs are cached (default: beside --root)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root("prune.python_venv")
    pc.need_tools("prune.python_venv", "apt-get", "apt-cache", "dpkg-deb")
    if os.path.exists(os.path.join(args.root, debian_root.STAMP)):
        base = os.path.abspath(args.root)  # the keyed root itself
    else:
        base = debian_root.root_for_test(args.root)
    cache = args.cache or os.path.dirname(os.path.abspath(args.root))
    checks = pc.Checks("prune.python_venv")
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    debs = cached_debs(cache, RUNTIME_DEBS + BUILD_TOOL_DEBS)
    print("debs: " + ", ".join(os.path.basename(d) for d in debs))
    root = os.path.join(work, "root")
    print(f"copying {base} to {root}")
    pc.copy_tree(base, root)
    pc.prepare_mountpoints(root)
    chroot_setup(root, ["/usr/bin/python3", "-m", "venv", "--without-pip", VENV])
    site = install_like_pip(root, debs, work)
    with open(inside(root, "/app/main.py"), "w") as f:
        f.write(MAIN)
    os.chmod(inside(root, "/app/main.py"), 0o755)
    venv_files, venv_bytes = pc.tree_size(inside(root, VENV))

    p = pc.run_in_root(root, ["/app/main.py"])
    if p.returncode != 0 or p.stdout.rstrip("\n") != EXPECT:
        checks.fail("the workload in the FULL root (the workload itself is wrong)",
                    f"exit {p.returncode}, stdout {p.stdout.strip()!r}, stderr {p.stderr.strip()[-2000:]!r}")
        return pc.finish(checks, work)
    probe = pc.run_in_root(root, [f"{VENV}/bin/python", "-c", TOOLS_PROBE])
    print(f"full root: build tools Python finds: {probe.stdout.strip()}")

    out, report_file = os.path.join(work, "out"), os.path.join(work, "report.json")
    p = pc.run_elfprune(args.elfprune, ["prune", root, "--entry", "/app/main.py", "--out", out,
                                        "--report", report_file])
    checks.check(p.returncode == 0, "prune --entry /app/main.py --out exits 0", f"exit {p.returncode}")
    report = pc.load_report(report_file) or {}
    if not os.path.isdir(out):
        checks.fail("OUT was created", out)
        return pc.finish(checks, work)
    pc.prepare_mountpoints(out)
    pc.check_workload(checks, "chroot OUT /app/main.py prints its line, markupsafe._speedups loaded",
                      out, ["/app/main.py"], EXPECT)

    for gone in ["/usr/bin/node", "/usr/bin/nodejs", "/usr/lib/x86_64-linux-gnu/libnode.so.108",
                 "/usr/share/nodejs"]:
        checks.check(not os.path.lexists(inside(out, gone)), f"no {gone} in OUT")
    tools = ["pip", "pip-23.0.1.dist-info", "setuptools", "setuptools-66.1.1.egg-info",
             "pkg_resources", "_distutils_hack", "distutils-precedence.pth", "wheel",
             "wheel-0.38.4.egg-info"]
    for name in tools:
        checks.check(not os.path.lexists(inside(out, f"{site}/{name}")), f"no {site}/{name} in OUT")
    for name in ["pip", "pip3", "pip3.11", "wheel"]:
        checks.check(not os.path.lexists(inside(out, f"{VENV}/bin/{name}")), f"no {VENV}/bin/{name} in OUT")
    checks.check(not os.path.lexists(inside(out, f"{site}/markupsafe/_speedups.c")),
                 "rule python-sources: no markupsafe/_speedups.c in OUT")
    speedups = glob.glob(inside(out, f"{site}/markupsafe/_speedups.cpython-*.so"))
    checks.check(len(speedups) == 1, "the C extension markupsafe/_speedups.*.so is in OUT")
    for kept in [f"{VENV}/pyvenv.cfg", f"{site}/flask/app.py", f"{site}/Flask-2.2.2.egg-info/PKG-INFO",
                 f"{site}/werkzeug/serving.py", f"{site}/jinja2/environment.py",
                 f"{site}/blinker-1.5.dist-info/METADATA", f"{site}/colorama/__init__.py"]:
        checks.check(os.path.exists(inside(out, kept)), f"{kept} in OUT")
    probe = pc.run_in_root(out, [f"{VENV}/bin/python", "-c", TOOLS_PROBE])
    try:
        found = json.loads(probe.stdout)
    except ValueError:
        found = {"modules": ["?"], "dists": ["?"], "error": probe.stderr.strip()[-1500:]}
    bad_dists = [d for d in found["dists"] if d in ("pip", "setuptools", "wheel", "?")]
    checks.check(probe.returncode == 0 and not found["modules"] and not bad_dists,
                 "in OUT Python finds neither pip, setuptools nor wheel, as modules or "
                 "distributions", json.dumps(found))
    by_rule = report.get("removed_by_rule", {})
    for rule in ("python-build-tools", "python-sources"):
        checks.check(by_rule.get(rule, {}).get("files", 0) > 0, f"the report counts rule {rule}",
                     json.dumps(by_rule.get(rule)))
    # Totals by distribution: flask kept, pip removed (the report's groups).
    kept_by, removed_by = report.get("kept_by_package", {}), report.get("removed_by_package", {})
    checks.check(kept_by.get("py:flask", {}).get("bytes", 0) > 0 and
                 removed_by.get("py:pip", {}).get("bytes", 0) > 0,
                 "the report totals kept and removed bytes by Python distribution",
                 f"py:flask kept {kept_by.get('py:flask')}, py:pip removed {removed_by.get('py:pip')}")
    held = [w for w in report.get("warnings", []) if "python-build-tools" in w]
    checks.check(not held, "no build tool held back (nothing imports one at run time)", "; ".join(held))

    p = pc.run_elfprune(args.elfprune, ["why", root, f"{site}/flask/app.py", "--entry",
                                        "/app/main.py"])
    checks.check(p.returncode == 0 and f"on the sys.path of {VENV}/bin/python" in p.stdout,
                 "why names the python-path edge from the venv's python")

    after_files, after_bytes = pc.tree_size(inside(out, VENV))
    out_files, out_bytes = pc.tree_size(out)
    root_files, root_bytes = pc.tree_size(root)
    print(f"venv: {venv_files} files, {venv_bytes:,} bytes before; {after_files} files, "
          f"{after_bytes:,} bytes after ({after_bytes / venv_bytes:.0%})")
    print(f"tree: {root_files} files, {root_bytes:,} bytes before; OUT {out_files} files, "
          f"{out_bytes:,} bytes ({out_bytes / root_bytes:.1%}); by rule: "
          + ", ".join(f"{k} {v.get('files')} files {v.get('bytes'):,} B" for k, v in sorted(by_rule.items())))

    # A run-time import of pkg_resources keeps setuptools, and says why.
    with open(inside(root, f"{site}/appplugins.py"), "w") as f:
        f.write(PLUGINS)
    out2, report2 = os.path.join(work, "out-plugins"), os.path.join(work, "report-plugins.json")
    p = pc.run_elfprune(args.elfprune, ["prune", root, "--entry", "/app/main.py", "--out", out2,
                                        "--report", report2])
    checks.check(p.returncode == 0, "with appplugins.py: prune exits 0", f"exit {p.returncode}")
    warnings = (pc.load_report(report2) or {}).get("warnings", [])
    want = (f"{site}/appplugins.py: line 2 imports pkg_resources: Python build tool setuptools "
            "kept (rule python-build-tools)")
    checks.check(want in warnings, "with appplugins.py: the report says why setuptools stays",
                 "; ".join(w for w in warnings if "python" in w.lower())[:1500])
    for name in ["setuptools", "pkg_resources", "setuptools-66.1.1.egg-info"]:
        checks.check(os.path.lexists(inside(out2, f"{site}/{name}")), f"with appplugins.py: {site}/{name} kept")
    for name in ["pip", "wheel"]:
        checks.check(not os.path.lexists(inside(out2, f"{site}/{name}")), f"with appplugins.py: no {site}/{name}")
    if os.path.isdir(out2):
        pc.prepare_mountpoints(out2)
        pc.check_workload(checks, "with appplugins.py: it imports and runs chrooted in OUT",
                          out2, [f"{VENV}/bin/python", "-c", "import appplugins; print(appplugins.plugins())"],
                          "[]")

    # Without entries: the rules alone, on the application directory.
    report3 = os.path.join(work, "report-no-entries.json")
    p = pc.run_elfprune(args.elfprune, ["prune", inside(root, "/app"), "--sysroot", root,
                                        "--in-place", "--report", report3])
    checks.check(p.returncode == 0, "without entries: prune ROOT/app --sysroot ROOT --in-place "
                 "exits 0", f"exit {p.returncode}")
    warnings = (pc.load_report(report3) or {}).get("warnings", [])
    checks.check(want in warnings, "without entries: the report says why setuptools stays")
    checks.check(os.path.isdir(inside(root, f"{site}/setuptools")) and
                 not os.path.lexists(inside(root, f"{site}/pip")) and
                 not os.path.lexists(inside(root, f"{site}/wheel")) and
                 not os.path.lexists(inside(root, f"{VENV}/bin/pip")),
                 "without entries: setuptools stays, pip and wheel (and bin/pip) go")
    pc.check_workload(checks, "without entries: the app still runs chrooted in ROOT", root,
                      ["/app/main.py"], EXPECT)
    return pc.finish(checks, work)


if __name__ == "__main__":
    sys.exit(main())
