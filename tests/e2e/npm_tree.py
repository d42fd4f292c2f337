"""The npm tree of the prune tests: `npm install aws-lambda-ric@3.2.1` in a
fresh project, install scripts included (its preinstall builds curl and
aws-lambda-cpp from the bundled sources, its postinstall runs node-gyp),
installed once and cached outside the clone (the test cache of
tests/e2e/CMakeLists.txt), in a directory keyed by the package, node and npm.

    pristine = npm_tree.ensure_pristine(CACHE/npm-lambda-ric)
    tree = npm_tree.scratch_copy(pristine, CACHE/npm-lambda-ric, "label")

Layout of the cache directory (CACHE/npm-lambda-ric-KEY):
    pristine/         the installed project (package.json, node_modules/...)
    pristine.stamp    written once pristine/ is complete
    install.log       npm's output of the last install
    .lock             tests running in parallel wait on it while one installs

The install is made in a temporary directory beside pristine/ and renamed
when complete, so a half-installed tree is never used. For development,
ELFPRUNE_NPM_TREE names an installed project to use (only ever copied).
"""
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

PACKAGE = "aws-lambda-ric@3.2.1"
ADDON = "node_modules/aws-lambda-ric/dist/rapid-client.node"
# Debian packages the install scripts need (scripts/setup.sh installs them):
# autotools and libtool for curl's and aws-lambda-cpp's configure, cmake for
# aws-lambda-cpp, make and g++ for everything, libcurl's headers for the
# addon. node and npm may come from Debian (nodejs, npm) or elsewhere.
APT_PACKAGES = ["autoconf", "automake", "libtool", "cmake", "make", "g++", "libcurl4-openssl-dev"]
PACKAGE_JSON = {
    "name": "elfprune-npm-e2e",
    "version": "1.0.0",
    "private": True,
    # npm >= 11 asks for install scripts to be approved; older npm ignores it.
    "allowScripts": {PACKAGE: True},
}


def _fail(msg):
    sys.exit(f"npm tree: {msg}")


def _missing_prerequisites():
    missing = [t for t in ("node", "npm") if shutil.which(t) is None]
    for pkg in APT_PACKAGES:
        q = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        if "install ok installed" not in q.stdout:
            missing.append(pkg)
    return missing


def _install(cache, pristine, stamp):
    missing = _missing_prerequisites()
    if missing:
        _fail(f"cannot install {PACKAGE}: missing {', '.join(missing)} "
              f"(apt-get install {' '.join(APT_PACKAGES)}; scripts/setup.sh does)")
    for stale in glob.glob(os.path.join(cache, "pristine.tmp.*")) + \
            ([pristine] if os.path.lexists(pristine) else []):
        print(f"npm tree: removing incomplete {stale}")
        shutil.rmtree(stale)
    tmp = tempfile.mkdtemp(prefix="pristine.tmp.", dir=cache)
    os.chmod(tmp, 0o755)
    with open(os.path.join(tmp, "package.json"), "w") as f:
        json.dump(PACKAGE_JSON, f, indent=2)
    cmd = ["npm", "install", PACKAGE, "--no-audit", "--no-fund", "--foreground-scripts"]
    log = os.path.join(cache, "install.log")
    npm_version = subprocess.run(["npm", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"npm tree: running `{' '.join(cmd)}` (npm {npm_version}) in {tmp} (log: {log}); "
          f"the install scripts build curl and aws-lambda-cpp: takes minutes", flush=True)
    start = time.monotonic()
    with open(log, "w") as out:
        rc = subprocess.run(cmd, cwd=tmp, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL).returncode
    print(f"npm tree: npm exited {rc} after {time.monotonic() - start:.0f} s")
    if rc != 0 or not os.path.isfile(os.path.join(tmp, ADDON)):
        with open(log, errors="replace") as f:
            tail = f.readlines()[-30:]
        print("".join(tail), end="")
        shutil.rmtree(tmp)
        why = (f"npm install failed with exit status {rc}" if rc != 0 else
               f"{ADDON} was not built: the install scripts did not run or failed")
        _fail(f"{why}; see {log}")
    os.rename(tmp, pristine)
    with open(stamp, "w") as f:
        f.write(f"{' '.join(cmd)}\nnpm {npm_version}\n")


def keyed(cache):
    """The cache directory for this package with this node and npm."""
    versions = []
    for tool in ("node", "npm"):
        if shutil.which(tool):
            versions.append(subprocess.run([tool, "--version"], capture_output=True,
                                           text=True).stdout.strip())
    key = hashlib.sha256(" ".join([PACKAGE] + versions).encode()).hexdigest()[:12]
    return f"{os.path.abspath(cache)}-{key}"


def ensure_pristine(cache):
    """Path of the pristine installed project, installing it if needed.
    Exits the test with the reason if it cannot be installed."""
    override = os.environ.get("ELFPRUNE_NPM_TREE")
    if override:
        print(f"npm tree: ELFPRUNE_NPM_TREE={override}: development override, not installed here")
        if not os.path.isfile(os.path.join(override, ADDON)):
            _fail(f"ELFPRUNE_NPM_TREE={override} has no {ADDON}")
        return os.path.abspath(override)
    cache = keyed(cache)
    pristine, stamp = os.path.join(cache, "pristine"), os.path.join(cache, "pristine.stamp")
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, ".lock"), "w") as lock:  # released when closed, or if we die
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"npm tree: another test is installing {pristine}; waiting for it", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(stamp) and os.path.isfile(os.path.join(pristine, ADDON)):
            with open(stamp) as f:
                print(f"npm tree: reusing {pristine} ({f.readline().strip()})")
        else:
            _install(cache, pristine, stamp)
    return pristine


def scratch_copy(pristine, cache, label):
    """A fresh `cp -a` copy of the pristine project; returns its path.
    Copies a previous run of the same label left are removed first; the
    caller removes this one (remove_scratch) unless it keeps it to show a
    failure."""
    # In the test's working directory (the build tree), not the shared
    # cache: two clones testing at once must not remove each other's copies.
    cache = os.getcwd()
    for stale in glob.glob(os.path.join(cache, f"scratch.{label}.*")):
        shutil.rmtree(stale, ignore_errors=True)
    base = tempfile.mkdtemp(prefix=f"scratch.{label}.", dir=cache)
    tree = os.path.join(base, "project")
    subprocess.run(["cp", "-a", pristine, tree], check=True)
    return tree


def remove_scratch(tree):
    shutil.rmtree(os.path.dirname(tree), ignore_errors=True)


IMPORT_JS = "import('aws-lambda-ric').then(m => console.log(typeof m, typeof m.run))"
IMPORT_EXPECT = "object function"
ADDON_JS = ("const r = require('module').createRequire(process.cwd() + '/');"
            "console.log(Object.keys(r('aws-lambda-ric/dist/rapid-client.node')).sort().join(','))")
ADDON_EXPECT = "done,error,next"


def node_checks(checks, node, tree, when):
    """The project works: import() of the package, and loading its addon."""
    ok = True
    for what, code, expect, env in (
            ("import('aws-lambda-ric')", IMPORT_JS, IMPORT_EXPECT, {}),
            ("require of the rapid-client.node addon", ADDON_JS, ADDON_EXPECT,
             {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"})):
        env = {"PATH": "/usr/bin:/bin", **env}
        try:
            p = subprocess.run([node, "-e", code], cwd=tree, env=env, capture_output=True,
                               text=True, timeout=60, stdin=subprocess.DEVNULL)
            rc, out, err = p.returncode, p.stdout.strip(), p.stderr.strip()
        except subprocess.TimeoutExpired:
            rc, out, err = -1, "", "timed out after 60 s"
        ok &= checks.check(rc == 0 and out == expect and not err,
                           f"{when}: node -e \"{what}\" in DIR works",
                           f"exit {rc}, stdout {out!r} (expected {expect!r})" +
                           (f", stderr:\n    " + "\n    ".join(err.splitlines()[-15:]) if err else ""))
    return ok
