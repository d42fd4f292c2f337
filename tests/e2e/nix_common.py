"""Helpers for the Nix end-to-end tests: a real `nix-build` (Debian's
nix-bin), single user as root, offline (no substituters), without the
sandbox, so derivations written with builtins.derivation and /bin/sh can
read the host's tools and the test's inputs.
"""
import hashlib
import shutil
import subprocess
import sys

NIX_OPTIONS = ["--option", "sandbox", "false", "--option", "substituters", "",
               "--option", "build-users-group", ""]


def need_nix(name):
    missing = [t for t in ("nix-build", "nix-store") if shutil.which(t) is None]
    if missing:
        sys.exit(f"{name}: {', '.join(missing)} not installed (Debian's nix-bin; scripts/setup.sh "
                 "installs it)")


def nonce(*files):
    """A hash of the files a build depends on but Nix does not see."""
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:32]


def build(checks, expr, attr, args, what):
    """nix-build EXPR -A ATTR --argstr K V...; returns the output path or
    None (a failed check with the build log's tail)."""
    cmd = ["nix-build", expr, "-A", attr, "--no-out-link", *NIX_OPTIONS]
    for k, v in args.items():
        cmd += ["--argstr", k, v]
    print(f"$ {' '.join(cmd)}", flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1200)
    log = p.stderr.strip().splitlines()
    out = p.stdout.strip().splitlines()
    ok = checks.check(p.returncode == 0 and len(out) == 1, f"nix-build of {what} succeeds",
                      f"exit {p.returncode}" + ("" if p.returncode == 0 else
                                                 ":\n    " + "\n    ".join(log[-25:])))
    return out[-1] if ok else None


def build_log(path):
    p = subprocess.run(["nix-store", "--read-log", path], capture_output=True, text=True)
    return p.stdout


def closure(path):
    """`nix-store -qR PATH`: the store paths PATH keeps alive."""
    p = subprocess.run(["nix-store", "-qR", path], capture_output=True, text=True, check=True)
    return p.stdout.split()


def delete(*paths):
    """Remove test outputs from the store (they hold copies of big trees)."""
    subprocess.run(["nix-store", "--delete", *[p for p in paths if p]], capture_output=True)
