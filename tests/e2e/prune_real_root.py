#!/usr/bin/env python3
"""e2e.prune.real_root: prune a Debian 12 root as real images are (python3,
ca-certificates, openssl, curl, git: debian_root.REAL_WORLD, whose
/etc/ssl/certs holds hash links into /usr/share/ca-certificates) and check
that each pruned tree verifies and still does real work chrooted.

    prune_real_root.py --elfprune BIN --root CACHE/debian-root --work DIR

Cases, each `elfprune prune ROOT --entry ... --out OUT --report R.json`
into a fresh OUT:

(a) --entry /usr/bin/python3; workload: Python's ssl module loads the
    default CA store (create_default_context: every certificate of the
    bundle, through /usr/lib/ssl/cert.pem), the bundle itself as a cafile,
    and, through libcrypto (ctypes), every certificate of the bundle
    verified against a store holding only libcrypto's default hash
    directory (/usr/lib/ssl/certs -> /etc/ssl/certs): each one is found by
    its subject-hash link (`<hash>.0 -> X.pem -> /usr/share/ca-certificates/
    .../X.crt`), so every such link must lead to its certificate (OpenSSL
    cannot verify a root behind a second, `<hash>.1`, link: error 18 in
    the full root too, one allowed per such link). Its expected line is the
    full root's, once checked against the counts read from the root's files.
    No perl in OUT: no file or symlink at /usr/bin/perl*, /usr/share/perl*,
    /usr/lib/x86_64-linux-gnu/perl*, no script run by perl anywhere
    (directories, which hold none of it, are only listed): nothing python3
    needs runs perl. Budget: 3x the traced bytes;
(b) --entry /usr/bin/git; workload, in a tmpfs work directory: git init,
    config, add, commit (fixed dates: a known commit id), log, gc,
    count-objects (one pack of 3 objects), show from the pack, fsck.
    No budget (git depends on perl, and keeps it);
(c) --entry /usr/bin/curl --entry /usr/bin/openssl; workload: curl reads
    file:// URLs (a file of the work directory, and the CA bundle, whose
    size it reports), `openssl storeutl` lists every certificate of the
    bundle, `openssl verify -CApath /etc/ssl/certs` (no CAfile, no store)
    verifies each certificate a `<hash>.0` link of the root leads to (its
    /etc/ssl/certs/X.pem name) through the hash links.
    Budget: 2x the traced bytes.

For each: prune exits 0 (its stderr printed otherwise); the workload prints
exactly its expected transcript, nothing on stderr, exit 0, chrooted in OUT
(chroot_run.py's container-like environment: read-only tree, private /proc
/sys /dev, tmpfs /tmp; the workload's steps run in one such session, so
they share /tmp); `--dry-run` plans the same kept and removed sets as the
--out run; kept bytes (regular files of OUT, each inode once) against the
traced bytes (regular files the same workload opens or executes
successfully, strace in the ORIGINAL root, symlinks resolved, each inode
once: prune_common.trace-style measurement).

Each workload is first run (traced) in the full root: if it fails there,
the workload (not elfprune) is wrong, and the test fails saying so. The
expected transcripts depend on the root only through counts measured here
from the root's own files (certificates in the bundle, hash links, their
targets). Times are not asserted; certificates are verified without time
checks (some of the bundle's roots expire while the root stays cached).

The workload driver is this script itself: `--session ROOT SPEC` enters
the root as chroot_run.py does, then runs each step with fork/execve only
(no import after the chroot, so the driver opens nothing in the root).
"""
import argparse
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time

import chroot_run
import debian_root
import prune_common as pc

NAME = "prune.real_root"
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp/w/home", "LANG": "C.UTF-8",
       "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+0000",
       "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+0000"}
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CERTS = "/etc/ssl/certs"
HASH_LINK = re.compile(r"[0-9a-f]{8}\.[0-9]+")
PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)

# (a) Run with `python3 -c`; prints one JSON line.
PYTHON_SSL = r'''
import ctypes, json, os, re, ssl
r = {}
paths = ssl.get_default_verify_paths()
r["default_paths"] = [paths.openssl_cafile, paths.openssl_capath]
ctx = ssl.create_default_context()  # load_default_certs: the cafile eagerly, the capath lazily
r["default_context_x509_ca"] = ctx.cert_store_stats()["x509_ca"]
BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
c.load_verify_locations(cafile=BUNDLE)
r["cafile_x509_ca"] = c.cert_store_stats()["x509_ca"]
with open(BUNDLE, "rb") as f:
    pems = re.findall(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", f.read(), re.S)
r["bundle_certs"] = len(pems)
lib = ctypes.CDLL("libcrypto.so.3")
P, I = ctypes.c_void_p, ctypes.c_int
for name, res, args in (
        ("X509_get_default_cert_dir", ctypes.c_char_p, []),
        ("BIO_new_mem_buf", P, [ctypes.c_char_p, I]), ("BIO_free", I, [P]),
        ("PEM_read_bio_X509", P, [P, P, P, P]), ("X509_free", None, [P]),
        ("X509_STORE_new", P, []), ("X509_STORE_free", None, [P]),
        ("X509_STORE_load_locations", I, [P, ctypes.c_char_p, ctypes.c_char_p]),
        ("X509_STORE_set_flags", I, [P, ctypes.c_ulong]),
        ("X509_STORE_CTX_new", P, []), ("X509_STORE_CTX_free", None, [P]),
        ("X509_STORE_CTX_init", I, [P, P, P, P]), ("X509_verify_cert", I, [P]),
        ("X509_STORE_CTX_get_error", I, [P])):
    fn = getattr(lib, name)
    fn.restype, fn.argtypes = res, args
capath = lib.X509_get_default_cert_dir().decode()
r["capath"] = capath
r["hash_links"] = sum(1 for n in os.listdir(capath) if re.fullmatch(r"[0-9a-f]{8}\.[0-9]+", n))
X509_V_FLAG_NO_CHECK_TIME = 0x200000
verified, failed = 0, []
for i, pem in enumerate(pems):
    bio = lib.BIO_new_mem_buf(pem, len(pem))
    cert = lib.PEM_read_bio_X509(bio, None, None, None)
    lib.BIO_free(bio)
    if not cert:
        failed.append([i, "unparsable"])
        continue
    # A store with only the hash directory: a self-signed root verifies only
    # if its subject-hash link leads to it.
    store = lib.X509_STORE_new()
    lib.X509_STORE_set_flags(store, X509_V_FLAG_NO_CHECK_TIME)
    if lib.X509_STORE_load_locations(store, None, capath.encode()) != 1:
        failed.append([i, "cannot add the directory"])
    sctx = lib.X509_STORE_CTX_new()
    lib.X509_STORE_CTX_init(sctx, store, cert, None)
    if lib.X509_verify_cert(sctx) == 1:
        verified += 1
    else:
        failed.append([i, lib.X509_STORE_CTX_get_error(sctx)])
    lib.X509_STORE_CTX_free(sctx)
    lib.X509_STORE_free(store)
    lib.X509_free(cert)
r["capath_verified"] = verified
r["capath_failed"] = failed[:10]
print(json.dumps(r))
'''


def count_certs(root):
    """Read here from the ORIGINAL root's files, not through any tool of
    the root: (certificates in the bundle, hash links, the names the
    `<hash>.0` links lead to, the `<hash>.N` links with N > 0)."""
    with open(os.path.join(root, BUNDLE.lstrip("/")), "rb") as f:
        n = len(PEM_BLOCK.findall(f.read().decode("ascii", "replace")))
    certs = os.path.join(root, CERTS.lstrip("/"))
    links = sorted(name for name in os.listdir(certs) if HASH_LINK.fullmatch(name))
    firsts = sorted({os.readlink(os.path.join(certs, name)) for name in links
                     if name.endswith(".0") and os.path.islink(os.path.join(certs, name))})
    return n, len(links), firsts, [name for name in links if not name.endswith(".0")]


def step(label, argv):
    return {"label": label, "argv": argv}


def make_cases(root):
    n, links, firsts, later = count_certs(root)
    bundle_size = os.stat(os.path.join(root, BUNDLE.lstrip("/"))).st_size
    print(f"root: {BUNDLE} holds {n} certificates ({bundle_size:,} bytes); {CERTS} has "
          f"{links} hash links, {len(later)} of them a second one for a subject hash "
          f"({', '.join(later)})")

    def python_valid(out):
        """The full root's answer is the expected one if it says what the
        root's files say. OpenSSL's hash-directory lookup cannot verify a
        self-signed root behind a `<hash>.1` link (the `<hash>.0` one, same
        subject, is taken; `openssl verify -CApath` fails the same way, error
        18), so up to one failure per such link, with that error."""
        try:
            r = json.loads(out)
        except ValueError as e:
            return [f"not JSON: {e}"]
        want = {"default_paths": ["/usr/lib/ssl/cert.pem", "/usr/lib/ssl/certs"],
                "default_context_x509_ca": n, "cafile_x509_ca": n, "bundle_certs": n,
                "capath": "/usr/lib/ssl/certs", "hash_links": links}
        bad = [f"{k}: {r.get(k)!r}, expected {v!r}" for k, v in want.items() if r.get(k) != v]
        failed = r.get("capath_failed", [])
        if r.get("capath_verified", 0) < n - len(later) or len(failed) > len(later) \
                or any(f[1] != 18 for f in failed):
            bad.append(f"capath: {r.get('capath_verified')} of {n} verified, failures {failed}")
        return bad

    git = "/usr/bin/git"
    git_steps = [
        step("git init -b main /tmp/w/repo", [git, "init", "-b", "main", "/tmp/w/repo"]),
        step("git config user.name", [git, "config", "user.name", "Test User"]),
        step("git config user.email", [git, "config", "user.email", "test@example.org"]),
        step("git add hello.txt", [git, "add", "hello.txt"]),
        step("git commit", [git, "commit", "-m", "first commit"]),
        step("git log", [git, "log", "--format=%H %an <%ae> %s"]),
        step("git gc", [git, "gc"]),
        step("git count-objects -v", [git, "count-objects", "-v"]),
        step("git show HEAD:hello.txt", [git, "show", "HEAD:hello.txt"]),
        step("git fsck --strict", [git, "fsck", "--strict"]),
    ]
    git_expect = [
        "Initialized empty Git repository in /tmp/w/repo/.git/", "", "", "",
        "[main (root-commit) 60e59c2] first commit\n 1 file changed, 1 insertion(+)\n"
        " create mode 100644 hello.txt",
        "60e59c2d013d821f9b2efa64b4477b1529dfc3f0 Test User <test@example.org> first commit",
        "",
        "count: 0\nsize: 0\nin-pack: 3\npacks: 1\nsize-pack: 1\nprune-packable: 0\ngarbage: 0\n"
        "size-garbage: 0",
        "hello from git", ""]

    curl, openssl = "/usr/bin/curl", "/usr/bin/openssl"
    pem_paths = [p if p.startswith("/") else f"{CERTS}/{p}" for p in firsts]
    tls_steps = [
        step("curl file:///tmp/w/hello.txt", [curl, "-sS", "file:///tmp/w/hello.txt"]),
        step(f"curl file://{BUNDLE} (size)",
             [curl, "-sS", "-o", "/dev/null", "-w", "%{size_download}\\n", "file://" + BUNDLE]),
        step(f"openssl storeutl -noout -certs {BUNDLE}",
             [openssl, "storeutl", "-noout", "-certs", BUNDLE]),
        step(f"openssl verify -CApath {CERTS} (no CAfile, no store): the {len(pem_paths)} "
             "certificates <hash>.0 links lead to",
             [openssl, "verify", "-no_check_time", "-no-CAfile", "-no-CAstore", "-CApath", CERTS]
             + pem_paths),
    ]
    tls_expect = [
        "hello from a file URL", str(bundle_size),
        "\n".join(f"{i}: Certificate" for i in range(n)) + f"\nTotal found: {n}",
        "\n".join(f"{p}: OK" for p in pem_paths)]

    return n, [
        {"label": "python3-ssl", "entries": ["/usr/bin/python3"], "budget": 3.0, "no_perl": True,
         "files": {}, "cwd": "/tmp/w",
         "steps": [step("python3 -c <ssl: default store, cafile, capath hash links>",
                        ["/usr/bin/python3", "-c", PYTHON_SSL])],
         "expect": [None], "valid": python_valid},
        {"label": "git", "entries": ["/usr/bin/git"], "budget": None, "no_perl": False,
         "files": {"/tmp/w/repo/hello.txt": "hello from git\n"}, "cwd": "/tmp/w/repo",
         "steps": git_steps, "expect": git_expect},
        {"label": "curl-openssl", "entries": ["/usr/bin/curl", "/usr/bin/openssl"], "budget": 2.0,
         "no_perl": False, "files": {"/tmp/w/hello.txt": "hello from a file URL\n"},
         "cwd": "/tmp/w", "steps": tls_steps, "expect": tls_expect},
    ]


# ---------------------------------------------------------------- the session driver

def session(root, spec):
    """Runs chrooted (a child process of the test, maybe under strace):
    enter the root, make the work files, run each step, print `== label`
    before each. Only os calls after the chroot: nothing is imported or
    opened in the root by the driver itself."""
    try:
        chroot_run.enter(root, "/")
    except OSError as e:
        print(f"session: {e}", file=sys.stderr)
        return 125
    os.makedirs(spec["env"]["HOME"], exist_ok=True)
    for path, text in spec["files"].items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, text.encode())
        os.close(fd)
    os.makedirs(spec["cwd"], exist_ok=True)
    os.chdir(spec["cwd"])
    for s in spec["steps"]:
        os.write(1, f"== {s['label']}\n".encode())
        pid = os.fork()
        if pid == 0:
            try:
                os.execve(s["argv"][0], s["argv"], spec["env"])
            except OSError as e:
                os.write(2, f"session: cannot execute {s['argv'][0]}: {e}\n".encode())
            os._exit(127)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            os.write(2, f"session: step `{s['label']}` exited {code}\n".encode())
            return code if code > 0 else 128 - code
    return 0


def step_outputs(case, stdout):
    """Each step's output (without its last newline) in a session's stdout,
    None for a step whose `== label` line is missing."""
    outs, pos = [], 0
    for s in case["steps"]:
        mark = f"== {s['label']}\n"
        start = stdout.find(mark, pos)
        if start < 0:
            return outs + [None] * (len(case["steps"]) - len(outs))
        outs.append(start + len(mark))
        pos = start + len(mark)
    texts = []
    for i, begin in enumerate(outs):
        end = stdout.find(f"== {case['steps'][i + 1]['label']}\n", begin) if i + 1 < len(outs) \
            else len(stdout)
        texts.append(stdout[begin:end].removesuffix("\n"))
    return texts


def transcript(case):
    return "".join(f"== {s['label']}\n" + (out + "\n" if out else "")
                   for s, out in zip(case["steps"], case["expect"]))


def run_session(root, case, tracer=None, timeout=300):
    spec = {"env": ENV, "files": case["files"], "cwd": case["cwd"], "steps": case["steps"]}
    cmd = (tracer or []) + [sys.executable, os.path.abspath(__file__), "--session", root,
                            json.dumps(spec)]
    try:
        return subprocess.run(cmd, capture_output=True, encoding="utf-8", errors="replace",
                              timeout=timeout, stdin=subprocess.DEVNULL,
                              env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, -1, e.stdout or "", f"timed out after {timeout} s")


def trace_session(root, case, work):
    """The workload chrooted in `root` under strace: (CompletedProcess,
    {path: size} of the regular files it opened or executed)."""
    trace = os.path.join(work, f"strace-{case['label']}.txt")
    tracer = ["strace", "-f", "-qq", "-y", "-s", "4096", "-e", f"trace={pc.TRACED_CALLS}",
              "-o", trace, "--"]
    p = run_session(root, case, tracer=tracer)
    sizes = pc.traced_files(root, pc.parse_trace(trace, root)) if os.path.exists(trace) else {}
    return p, sizes


def diff_lines(expected, got, limit=12):
    e, g = expected.splitlines(), got.splitlines()
    out = []
    for i in range(max(len(e), len(g))):
        a = e[i] if i < len(e) else "<none>"
        b = g[i] if i < len(g) else "<none>"
        if a != b:
            # From a little before the first differing character.
            at = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            cut = max(0, at - 40)
            out.append(f"line {i + 1}, column {at + 1}: expected {a[cut:cut + 200]!r}, "
                       f"got {b[cut:cut + 200]!r}")
    if len(out) > limit:
        out = out[:limit] + [f"... {len(out) - limit} more differing lines"]
    return out


def workload_ok(p, expected):
    ok = p.returncode == 0 and p.stdout == expected and not p.stderr.strip()
    detail = f"exit {p.returncode}, {len(p.stdout.splitlines())} lines on stdout"
    if not ok:
        if p.stdout != expected:
            detail += "; differs from the expected transcript:\n    " + "\n    ".join(
                diff_lines(expected, p.stdout))
        if p.stderr.strip():
            detail += "\n  stderr:\n    " + "\n    ".join(p.stderr.strip().splitlines()[-25:])
    return ok, detail


# ---------------------------------------------------------------- checks per case

PERL_PLACES = ("/usr/bin/perl", "/usr/share/perl", "/usr/lib/x86_64-linux-gnu/perl")
PERL_SHEBANG = re.compile(rb"#!\s*(\S*/)?(env\s+)?perl")


def perl_paths(out):
    """(perl in OUT: files and symlinks at /usr/bin/perl*, /usr/share/perl*,
    /usr/lib/x86_64-linux-gnu/perl*, and scripts run by perl anywhere;
    directories there, which hold none of it)."""
    found, dirs = [], []
    for rel, host, st in pc.walk(out):
        if rel.startswith(PERL_PLACES):
            (dirs if stat.S_ISDIR(st.st_mode) else found).append(rel)
        elif stat.S_ISREG(st.st_mode) and st.st_size > 2:
            with open(host, "rb") as f:
                if PERL_SHEBANG.match(f.readline(128)):
                    found.append(f"{rel} (#! perl)")
    return found, dirs


def group_bytes(files, depth):
    """{directory prefix of `depth` components: bytes} of {path: size}."""
    groups = {}
    for p, s in files.items():
        parts = p.strip("/").split("/")
        key = "/" + "/".join(parts[:min(depth, len(parts) - 1)]) if len(parts) > 1 else p
        groups[key] = groups.get(key, 0) + s
    return groups


def unique_files(out):
    """{path: size} of the regular files of OUT, each inode once."""
    seen, files = set(), {}
    for rel, _, st in pc.walk(out):
        if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            files[rel] = st.st_size
    return files


def explain_size(report, out, traced):
    files = unique_files(out)
    pc.print_largest("  kept bytes by directory (4 levels):",
                     group_bytes(files, 4), 12)
    by_pkg = {k: v.get("bytes", 0) for k, v in ((report or {}).get("kept_by_package") or {}).items()
              if isinstance(v, dict)}
    if by_pkg:
        pc.print_largest("  kept bytes by package (report):", by_pkg, 12)
    untraced = {p: s for p, s in files.items() if p not in traced}
    pc.print_largest(f"  largest kept files the workload does not open "
                     f"({len(untraced)} files, {sum(untraced.values()):,} bytes):", untraced, 15)


def run_case(checks, elfprune, root, work, case, results):
    label = case["label"]
    failed_before = len(checks.failed)
    entry_args = [a for e in case["entries"] for a in ("--entry", e)]
    print(f"\n== {label}: {' '.join(entry_args)}")
    start = time.monotonic()
    p, traced = trace_session(root, case, work)
    traced_bytes = sum(traced.values())
    if None in case["expect"]:
        # Expected: what the full root prints, if it says what the root's files say.
        outs = step_outputs(case, p.stdout) if p.returncode == 0 else [None] * len(case["steps"])
        for i, e in enumerate(case["expect"]):
            if e is None:
                problems = case["valid"](outs[i]) if outs[i] is not None else ["no output"]
                checks.check(not problems, f"{label}: step `{case['steps'][i]['label']}` in the "
                             "FULL root says what the root's files say",
                             "; ".join(problems) + f"\n    output: {(outs[i] or '')[:1500]!r}")
                case["expect"][i] = outs[i] if not problems else "<not valid in the full root>"
        print(f"  expected (the full root's output): {case['expect']}")
    expected = transcript(case)
    ok, detail = workload_ok(p, expected)
    print(f"traced {label} in the full root in {time.monotonic() - start:.1f} s: "
          f"{len(traced)} files, {traced_bytes:,} bytes")
    if not checks.check(ok, f"{label}: workload in the FULL root (else the workload itself is "
                        "wrong)", detail):
        results.append((label, None, traced_bytes, None, case["budget"], False))
        return
    pc.print_largest(f"  largest files {label} opens:", traced, 8)

    out = os.path.join(work, f"out-{label}")
    report_file = os.path.join(work, f"report-{label}.json")
    p = pc.run_elfprune(elfprune, ["prune", root] + entry_args + ["--out", out,
                                                                   "--report", report_file])
    if not checks.check(p.returncode == 0, f"{label}: prune --out exits 0",
                        f"exit {p.returncode}" + (f"; stderr ({len(p.stderr.splitlines())} lines) "
                                                  "above" if p.stderr else "")):
        if len(p.stderr.splitlines()) > 40:
            print(f"  ... and {len(p.stderr.splitlines()) - 40} more stderr lines; all of them by "
                  "kind:")
            kinds = {}
            for line in p.stderr.splitlines():
                k = re.sub(r"^elfprune: error: \S+: ", "", line)
                k = re.sub(r"to \S+", "to X", k)
                kinds[k] = kinds.get(k, 0) + 1
            for k, c in sorted(kinds.items(), key=lambda kv: -kv[1])[:10]:
                print(f"  {c:>5} x {k}")
    report = pc.load_report(report_file)
    checks.check(report is not None, f"{label}: the report is written and is JSON")
    if not os.path.isdir(out):
        checks.fail(f"{label}: OUT was created", out)
        results.append((label, None, traced_bytes, None, case["budget"], False))
        return

    files, kept_bytes = pc.tree_size(out)
    ratio = kept_bytes / traced_bytes if traced_bytes else float("inf")
    print(f"{label}: OUT {files} files, {kept_bytes:,} bytes ({pc.mb(kept_bytes)}); traced "
          f"{len(traced)} files, {traced_bytes:,} bytes ({pc.mb(traced_bytes)}); ratio {ratio:.2f}"
          + (f" (limit {case['budget']})" if case["budget"] else " (no limit)"))
    if case["budget"]:
        checks.check(ratio <= case["budget"],
                                 f"{label}: OUT weighs at most {case['budget']}x the traced bytes",
                                 f"{kept_bytes:,} / {traced_bytes:,} = {ratio:.2f}")
    explain_size(report, out, traced)

    if case["no_perl"]:
        perl, dirs = perl_paths(out)
        checks.check(not perl, f"{label}: no perl in OUT (no file or symlink at "
                     f"{', '.join(p + '*' for p in PERL_PLACES)}, no perl script)",
                     f"{len(perl)}: {', '.join(perl[:20])}")
        if dirs:
            print(f"  note: {len(dirs)} directories (no file) at those places: "
                  f"{', '.join(dirs[:8])}")

    missing = {k: v for k, v in traced.items()
               if not os.path.lexists(os.path.join(out, k.lstrip("/")))}
    pc.prepare_mountpoints(out)
    p = run_session(out, case)
    ok, detail = workload_ok(p, expected)
    if not checks.check(ok, f"{label}: workload runs chrooted in OUT", detail):
        pc.print_largest(f"  files {label} opens in the full root that are not in OUT "
                         f"({len(missing)}):", missing, 30)

    # The dry run plans what the --out run did.
    dry_report = os.path.join(work, f"report-{label}-dry.json")
    p = pc.run_elfprune(elfprune, ["prune", root] + entry_args + ["--dry-run", "--report",
                                                                   dry_report])
    checks.check(p.returncode == 0, f"{label}: prune --dry-run exits 0", f"exit {p.returncode}")
    dry = pc.load_report(dry_report)
    if report and dry:
        for key in ("kept", "removed"):
            a, b = pc.report_paths(dry, key), pc.report_paths(report, key)
            checks.check(a == b, f"{label}: --dry-run's {key} set is the --out run's",
                         f"{len(a)} vs {len(b)}; only in the dry run: {sorted(a - b)[:5]}; "
                         f"only in --out: {sorted(b - a)[:5]}")
    results.append((label, kept_bytes, traced_bytes, ratio, case["budget"],
                    len(checks.failed) == failed_before))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--session":
        return session(sys.argv[2], json.loads(sys.argv[3]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True, help="CACHE/debian-root (keyed by debian_root.py)")
    ap.add_argument("--work", required=True, help="scratch directory (emptied first)")
    ap.add_argument("--case", action="append", help="run only these cases (by label)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root(NAME)
    pc.need_tools(NAME, "strace")
    root = debian_root.root_for_test(args.root, debian_root.REAL_WORLD)
    checks = pc.Checks(NAME)
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    n, cases = make_cases(root)
    checks.check(n > 100, "the root's CA bundle holds more than 100 certificates", str(n))
    results = []
    for case in cases:
        if args.case and case["label"] not in args.case:
            continue
        run_case(checks, args.elfprune, root, work, case, results)

    print("\nsummary:")
    for label, kept, traced, ratio, budget, ok in results:
        print(f"  {label:<14} kept {kept if kept is None else f'{kept:,}':>14} bytes, traced "
              f"{traced:>12,} bytes, ratio {'-' if ratio is None else f'{ratio:.2f}':>6} "
              f"(limit {budget or '-'}): {'pass' if ok else 'FAIL'}")
    return pc.finish(checks, work)


if __name__ == "__main__":
    sys.exit(main())
