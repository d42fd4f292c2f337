"""The container images of the image end-to-end tests (e2e.image.prune),
made from the Debian test root with umoci and skopeo only, cached in the
test cache (tests/e2e/CMakeLists.txt) under a name keyed by what makes them.

    images = image_fixtures.ensure_images(CACHE, debian_root.root_for_test(CACHE/debian-root))
    images.oci_dir, images.tag          # oci:DIR:TAG (the reference: oci_ref)
    images.oci_archive                  # oci-archive:FILE (tag TAG inside)
    images.docker_archive               # docker-archive:FILE (DOCKER_NAME inside)
    images.bundle                       # `umoci unpack` of oci:DIR:TAG (rootfs/, config.json)

The image (umoci init / new / unpack / repack / config, never `umoci
insert`, so the layers are what a build leaves):
  layer 1  the Debian root (node, python3, perl), copied with `cp -a` into
           an unpacked empty image;
  layer 2  the app: /app/main.js (prints APP_LINE through the local package
           greet), /app/package.json (dependencies: greet; devDependencies:
           devtool), /app/node_modules/greet (run time) and
           /app/node_modules/devtool (dev-only, with a 256 KiB file); and
           two deletions of layer-1 paths, which umoci records as whiteouts:
           the file WHITEOUT_FILE and the directory WHITEOUT_DIR;
  layer 3  /app/lib/message.js, which main.js requires: a layer a prune for
           the app removes nothing from;
  config   Entrypoint ["node"] (found on PATH), Cmd ["/app/main.js"],
           WorkingDir /app, Env PATH and NODE_ENV=production, User
           1000:1000, two labels.
Then `skopeo copy` makes the oci-archive and docker-archive forms.

The cache directory is CACHE/image-app-KEY, KEY made from the Debian
root (path and debootstrap stamp), this module's recipe and umoci's and
skopeo's versions. It is built in a temporary directory beside it and
renamed when complete (a stamp file inside says so), under an exclusive
lock beside it, as debian_root.py and npm_tree.py do; once stamped it is
only ever read.

    python3 image_fixtures.py [--cache CACHE] [--root CACHE/debian-root]

builds them (if needed) and prints the paths.
"""
import fcntl
import glob
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import debian_root

# Bump when the recipe changes in a way the key below does not see.
RECIPE_VERSION = 1
TAG = "app"
DOCKER_NAME = "elfprune-test/app:1"
STAMP = ".elfprune-images-complete"

APP_LINE = "hello from greet, uid 1000, NODE_ENV production"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CONFIG = {
    "Entrypoint": ["node"],
    "Cmd": ["/app/main.js"],
    "WorkingDir": "/app",
    "Env": [PATH_ENV, "NODE_ENV=production"],
    "User": "1000:1000",
    "Labels": {"org.opencontainers.image.title": "elfprune-test-app",
               "org.example.elfprune.fixture": "image-app"},
}

# Layer-1 paths layer 2 deletes (whiteouts): a file and a whole directory.
WHITEOUT_FILE = "/usr/share/doc/perl/copyright"
WHITEOUT_DIR = "/usr/share/doc/python3"
# Their neighbours, which stay (to show a --keep of /usr/share/doc/** works).
WHITEOUT_NEIGHBOURS = ["/usr/share/doc/perl/changelog.Debian.gz",
                       "/usr/share/doc/python3.11/copyright"]

DEV_PACKAGE = "/app/node_modules/devtool"
RUNTIME_PACKAGE = "/app/node_modules/greet"

LAYER2 = {
    "app/main.js": (
        "'use strict';\n"
        "const greet = require('greet');\n"
        "const message = require('./lib/message');\n"
        "console.log(greet(message.who) + ', uid ' + process.getuid() +\n"
        "            ', NODE_ENV ' + process.env.NODE_ENV);\n"),
    "app/package.json": json.dumps({
        "name": "image-app", "version": "1.0.0", "private": True, "main": "main.js",
        "dependencies": {"greet": "1.0.0"},
        "devDependencies": {"devtool": "2.0.0"}}, indent=2) + "\n",
    "app/node_modules/greet/package.json": json.dumps({
        "name": "greet", "version": "1.0.0", "main": "index.js"}, indent=2) + "\n",
    "app/node_modules/greet/index.js":
        "'use strict';\nmodule.exports = (who) => 'hello from ' + who;\n",
    "app/node_modules/devtool/package.json": json.dumps({
        "name": "devtool", "version": "2.0.0", "main": "index.js",
        "bin": {"devtool": "cli.js"}}, indent=2) + "\n",
    "app/node_modules/devtool/index.js":
        "'use strict';\nmodule.exports = require('./lib/table.js');\n",
    "app/node_modules/devtool/cli.js":
        "#!/usr/bin/env node\nconsole.log(Object.keys(require('.')).length);\n",
    # 256 KiB that a dev-only package brings (the size of a real one's data).
    "app/node_modules/devtool/lib/table.js":
        "'use strict';\nmodule.exports = {\n" +
        "".join(f"  k{i:05d}: '{hashlib.sha256(str(i).encode()).hexdigest()}',\n"
                for i in range(3400)) + "};\n",
}
LAYER3 = {
    "app/lib/message.js": "'use strict';\nexports.who = 'greet';\n",
}


class Images:
    def __init__(self, top):
        self.top = top
        self.oci_dir = os.path.join(top, "oci")
        self.tag = TAG
        self.umoci_ref = f"{self.oci_dir}:{TAG}"  # umoci's syntax: no transport
        self.oci_ref = f"oci:{self.oci_dir}:{TAG}"
        self.oci_archive = os.path.join(top, "app-oci.tar")
        self.oci_archive_ref = f"oci-archive:{self.oci_archive}:{TAG}"
        self.docker_archive = os.path.join(top, "app-docker.tar")
        self.docker_name = DOCKER_NAME
        self.docker_archive_ref = f"docker-archive:{self.docker_archive}:{DOCKER_NAME}"
        self.bundle = os.path.join(top, "bundle")
        self.rootfs = os.path.join(self.bundle, "rootfs")

    def paths(self):
        return {"oci": self.oci_ref, "oci-archive": self.oci_archive_ref,
                "docker-archive": self.docker_archive_ref, "bundle": self.bundle}


def _version(tool):
    p = subprocess.run([tool, "--version"], capture_output=True, text=True)
    return p.stdout.strip()


def root_key(root):
    """Changes when the root is rebuilt: its real path and its stamp."""
    h = hashlib.sha256(os.path.realpath(root).encode())
    stamp = os.path.join(root, debian_root.STAMP)
    if os.path.exists(stamp):
        with open(stamp, "rb") as f:
            h.update(f.read())
        h.update(str(os.stat(stamp).st_mtime_ns).encode())
    else:  # a development override without a stamp
        h.update(str(os.stat(root).st_mtime_ns).encode())
    return h.hexdigest()


def key(root):
    recipe = json.dumps([RECIPE_VERSION, TAG, DOCKER_NAME, CONFIG, WHITEOUT_FILE, WHITEOUT_DIR,
                         LAYER2, LAYER3, root_key(root), _version("umoci"), _version("skopeo")],
                        sort_keys=True)
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def run(cmd, **kw):
    """Run a command (printed, with its time); exit the test if it fails."""
    print(f"image fixtures: $ {shlex.join(cmd)}", flush=True)
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kw)
    took = time.monotonic() - start
    if p.returncode != 0:
        sys.exit(f"image fixtures: `{shlex.join(cmd)}` failed with exit status {p.returncode} "
                 f"after {took:.1f} s:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
    if took >= 1:
        print(f"image fixtures:   {took:.1f} s", flush=True)
    return p


def _write_files(rootfs, files):
    for rel, text in files.items():
        host = os.path.join(rootfs, rel)
        os.makedirs(os.path.dirname(host), exist_ok=True)
        with open(host, "w") as f:
            f.write(text)
        os.chmod(host, 0o755 if text.startswith("#!") else 0o644)


def _build(top, root):
    """Make the images in `top` (a new empty directory)."""
    layout = os.path.join(top, "oci")
    image = f"{layout}:{TAG}"
    run(["umoci", "init", "--layout", layout])
    run(["umoci", "new", "--image", image])
    # One bundle for the three layers: --refresh-bundle records what each
    # repack packed, so the next repack holds only the later changes.
    work = os.path.join(top, "build-bundle")
    run(["umoci", "unpack", "--image", image, work])
    rootfs = os.path.join(work, "rootfs")
    # Layer 1: the Debian root, as it is (its debootstrap stamp left out).
    os.rmdir(rootfs)
    run(["cp", "-a", root, rootfs])
    stamp = os.path.join(rootfs, debian_root.STAMP)
    if os.path.exists(stamp):
        os.unlink(stamp)
    for p in [WHITEOUT_FILE, WHITEOUT_DIR] + WHITEOUT_NEIGHBOURS + ["/usr/bin/node"]:
        if not os.path.lexists(rootfs + p):
            sys.exit(f"image fixtures: the Debian root {root} has no {p}; the recipe needs it")
    run(["umoci", "repack", "--refresh-bundle", "--history.created_by",
         "cp -a DEBIAN_ROOT rootfs (elfprune test fixture)", "--image", image, work])
    # Layer 2: the app, and two deletions umoci records as whiteouts.
    _write_files(rootfs, LAYER2)
    os.unlink(rootfs + WHITEOUT_FILE)
    shutil.rmtree(rootfs + WHITEOUT_DIR)
    run(["umoci", "repack", "--refresh-bundle", "--history.created_by",
         f"app; rm {WHITEOUT_FILE}; rm -rf {WHITEOUT_DIR}", "--image", image, work])
    # Layer 3: a module the app requires.
    _write_files(rootfs, LAYER3)
    run(["umoci", "repack", "--history.created_by", "app/lib/message.js",
         "--image", image, work])
    shutil.rmtree(work)
    cfg = ["umoci", "config", "--image", image]
    for arg in CONFIG["Entrypoint"]:
        cfg += ["--config.entrypoint", arg]
    for arg in CONFIG["Cmd"]:
        cfg += ["--config.cmd", arg]
    for env in CONFIG["Env"]:
        cfg += ["--config.env", env]
    for k, v in CONFIG["Labels"].items():
        cfg += ["--config.label", f"{k}={v}"]
    cfg += ["--config.workingdir", CONFIG["WorkingDir"], "--config.user", CONFIG["User"]]
    run(cfg)
    run(["umoci", "gc", "--layout", layout])

    images = Images(top)
    run(["skopeo", "copy", "--quiet", images.oci_ref, f"oci-archive:{images.oci_archive}:{TAG}"])
    run(["skopeo", "copy", "--quiet", images.oci_ref,
         f"docker-archive:{images.docker_archive}:{DOCKER_NAME}"])
    # The original as a runtime sees it (layers and whiteouts applied), once.
    run(["umoci", "unpack", "--image", image, images.bundle])
    _check(images)
    return images


def _check(images):
    """The recipe did what it says (else the fixture, not elfprune, is wrong)."""
    rootfs = images.rootfs
    problems = []
    for p in (WHITEOUT_FILE, WHITEOUT_DIR):
        if os.path.lexists(rootfs + p):
            problems.append(f"{p} is in the unpacked image: umoci recorded no whiteout")
    for p in WHITEOUT_NEIGHBOURS + ["/app/main.js", "/app/lib/message.js", RUNTIME_PACKAGE,
                                    DEV_PACKAGE, "/usr/bin/node"]:
        if not os.path.lexists(rootfs + p):
            problems.append(f"{p} is missing from the unpacked image")
    cfg = inspect_config(images.oci_ref)
    for k, v in CONFIG.items():
        if cfg.get("config", {}).get(k) != v:
            problems.append(f"config {k} is {cfg.get('config', {}).get(k)!r}, not {v!r}")
    layers = len(cfg.get("rootfs", {}).get("diff_ids", []))
    if layers != 3:
        problems.append(f"{layers} layers, not 3")
    if problems:
        sys.exit("image fixtures: the built images are not as the recipe says:\n  "
                 + "\n  ".join(problems))


def inspect_config(ref):
    p = run(["skopeo", "inspect", "--config", ref])
    return json.loads(p.stdout)


def ensure_images(cache, root):
    """The cached images made from the Debian root `root`, built first if
    needed (under a lock). Returns an Images."""
    for tool in ("umoci", "skopeo", "cp"):
        if shutil.which(tool) is None:
            sys.exit(f"image fixtures: {tool} is not installed (scripts/setup.sh installs it)")
    cache = os.path.abspath(cache)
    os.makedirs(cache, exist_ok=True)
    top = os.path.join(cache, f"image-app-{key(root)}")
    if os.path.exists(os.path.join(top, STAMP)):
        print(f"image fixtures: reusing {top}")
        return Images(top)
    with open(top + ".lock", "w") as lock:  # released when closed, or if we die
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"image fixtures: another test is building {top}; waiting for it", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(top, STAMP)):
            print(f"image fixtures: reusing {top}")
            return Images(top)
        for stale in glob.glob(top + ".tmp.*") + ([top] if os.path.lexists(top) else []):
            print(f"image fixtures: removing incomplete {stale}")
            shutil.rmtree(stale)
        tmp = tempfile.mkdtemp(prefix=os.path.basename(top) + ".tmp.", dir=cache)
        os.chmod(tmp, 0o755)
        print(f"image fixtures: building {top} from {root}", flush=True)
        start = time.monotonic()
        try:
            _build(tmp, root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with open(os.path.join(tmp, STAMP), "w") as f:
            f.write(f"recipe {RECIPE_VERSION} from {root}\n")
        os.rename(tmp, top)
        print(f"image fixtures: built in {time.monotonic() - start:.1f} s", flush=True)
    return Images(top)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="build (if needed) and print the test images")
    ap.add_argument("--cache", default=os.environ.get("ELFPRUNE_TEST_CACHE",
                                                      "/var/cache/elfprune-tests"))
    ap.add_argument("--root", help="CACHE/debian-root (debian_root.py); default under --cache")
    a = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    debian = debian_root.root_for_test(a.root or os.path.join(a.cache, "debian-root"))
    t0 = time.monotonic()
    imgs = ensure_images(a.cache, debian)
    for name, path in imgs.paths().items():
        print(f"{name}: {path}")
    print(f"({time.monotonic() - t0:.1f} s)")
