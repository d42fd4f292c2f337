#!/usr/bin/env python3
"""e2e.prune.debian_node: prune the Debian 12 root for /usr/bin/node and
check that node still works in the result, within 1.15x of what node
really uses.

    prune_debian_node.py --elfprune BIN --root BUILD/debian-root --work DIR

1. `elfprune prune ROOT --entry /usr/bin/node --out OUT --report R.json`;
   exit 0, a readable report, ROOT left unchanged (listing of modes, sizes,
   mtimes, symlink targets);
2. in OUT, chrooted with a clean environment (chroot_run.py: PATH only;
   private /proc, /sys, a Docker-like /dev and a tmpfs /tmp, the tree
   read-only — what a container runtime gives an image), two node
   workloads print exactly their expected line: the issue's own (https,
   zlib, Intl de-DE, child_process) and a wider one (fs, crypto, os, path,
   url, Buffer, brotli, ICU dates/currency/collation, TextDecoder,
   worker_threads, http server and client, fetch, streams, spawn);
3. no python3 program (a file or symlink named python3 or python3.N) and
   no /usr/lib/python3.11 in OUT;
4. budget: the regular files of OUT (apparent bytes, each inode once)
   weigh at most 1.15x the traced minimum: the files the first workload
   opens or executes, measured with strace in the FULL root (plus the
   interpreters the kernel loads for what it executes), each inode once,
   /proc /sys /dev excluded;
5. the report agrees with the tree: every regular file of OUT is in `kept`,
   no `removed` path is in OUT, `after` matches what was measured.

Each workload is first run in the full root: if it fails there, the
workload (not elfprune) is wrong, and the test fails saying so.
"""
import argparse
import os
import re
import shutil
import stat
import sys

import debian_root
import prune_common as pc

BUDGET = 1.15

NODE_BASIC = r"""
const https = require('https'); const zlib = require('zlib'); const cp = require('child_process');
const z = zlib.gzipSync('hello');
console.log([typeof https.request, zlib.gunzipSync(z).toString(),
             new Intl.NumberFormat("de-DE").format(1234567.891),
             cp.execSync("echo hi").toString().trim()].join(' '));
"""
NODE_BASIC_EXPECT = "function hello 1.234.567,891 hi"

NODE_WIDE = r"""
const fs = require('fs'), os = require('os'), path = require('path'), crypto = require('crypto');
const zlib = require('zlib'), http = require('http'), dns = require('dns'), util = require('util');
const { Worker } = require('worker_threads');
const { pipeline } = require('stream/promises');
const { Readable, Writable } = require('stream');
(async () => {
  const r = {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'w2-'));
  fs.writeFileSync(path.join(dir, 'a.txt'), 'x'.repeat(1000));
  r.fs = fs.statSync(path.join(dir, 'a.txt')).size + ':' + fs.readdirSync(dir).join(',');
  fs.rmSync(dir, { recursive: true });
  r.sha256 = crypto.createHash('sha256').update('abc').digest('hex').slice(0, 16);
  r.hmac = crypto.createHmac('sha1', 'k').update('v').digest('base64');
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  r.ed25519 = crypto.verify(null, Buffer.from('m'), publicKey, crypto.sign(null, Buffer.from('m'), privateKey));
  const key = crypto.scryptSync('pw', 'salt', 32), iv = Buffer.alloc(16, 1);
  const c = crypto.createCipheriv('aes-256-cbc', key, iv);
  const enc = Buffer.concat([c.update('secret'), c.final()]);
  const d = crypto.createDecipheriv('aes-256-cbc', key, iv);
  r.aes = Buffer.concat([d.update(enc), d.final()]).toString();
  r.random = crypto.randomBytes(16).length + ':' + typeof crypto.randomUUID();
  r.os = [os.platform(), os.cpus().length > 0, os.EOL === '\n', typeof os.hostname(), os.totalmem() > 0].join(',');
  r.path = path.join('/a', 'b', '../c') + ' ' + path.extname('x.tar.gz');
  const u = new URL('https://user@example.com:8080/a/../b?q=1&r=%C3%A9#f');
  r.url = [u.hostname, u.port, u.pathname, u.searchParams.get('r')].join(' ');
  r.buffer = Buffer.from('héllo').toString('base64') + ' ' + Buffer.from('68656c6c6f', 'hex').toString();
  r.brotli = zlib.brotliDecompressSync(zlib.brotliCompressSync('brotli')).toString();
  r.deflate = zlib.inflateRawSync(zlib.deflateRawSync(Buffer.alloc(10000, 'a'))).length;
  r.intl = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', dateStyle: 'full' }).format(new Date(0))
    + ' ' + new Intl.NumberFormat('hi-IN', { style: 'currency', currency: 'INR' }).format(1234567.5)
    + ' ' + ['b', 'a', 'ä'].sort(new Intl.Collator('sv').compare).join('');
  r.textdecoder = new TextDecoder('shift_jis').decode(Buffer.from([0x82, 0xa0]));
  r.util = util.format('%s=%d %j', 'n', 42, { a: [1] });
  r.worker = await new Promise((res, rej) => {
    const w = new Worker('require("worker_threads").parentPort.postMessage(6 * 7)', { eval: true });
    w.on('message', res); w.on('error', rej);
  });
  r.dns = (await dns.promises.lookup('127.0.0.1')).family;
  const server = http.createServer((req, res) => res.end('pong ' + req.url));
  await new Promise(res => server.listen(0, '127.0.0.1', res));
  const port = server.address().port;
  r.http = await new Promise((res, rej) => http.get(`http://127.0.0.1:${port}/x`, m => {
    let b = ''; m.on('data', c => b += c); m.on('end', () => res(b));
  }).on('error', rej));
  r.fetch = await (await fetch(`http://127.0.0.1:${port}/y`)).text();
  server.close();
  let sink = '';
  await pipeline(Readable.from(['a', 'b', 'c']), zlib.createGzip(), zlib.createGunzip(),
                 new Writable({ write(chunk, e, cb) { sink += chunk; cb(); } }));
  r.stream = sink;
  r.child = require('child_process').spawnSync('/bin/sh', ['-c', 'echo $((6*7))']).stdout.toString().trim();
  console.log(JSON.stringify(r));
})().catch(e => { console.error(e); process.exit(1); });
"""
NODE_WIDE_EXPECT = (
    '{"fs":"1000:a.txt","sha256":"ba7816bf8f01cfea","hmac":"lPxqL36JuBls904QeajBHrZ5pVI=",'
    '"ed25519":true,"aes":"secret","random":"16:string","os":"linux,true,true,string,true",'
    '"path":"/a/c .gz","url":"example.com 8080 /b é","buffer":"aMOpbGxv hello","brotli":"brotli",'
    '"deflate":10000,"intl":"1970年1月1日木曜日 ₹12,34,567.50 abä","textdecoder":"あ",'
    '"util":"n=42 {\\"a\\":[1]}","worker":42,"dns":4,"http":"pong /x","fetch":"pong /y",'
    '"stream":"abc","child":"42"}')

WORKLOADS = [("node-basic", ["/usr/bin/node", "-e", NODE_BASIC], NODE_BASIC_EXPECT),
             ("node-wide", ["/usr/bin/node", "-e", NODE_WIDE], NODE_WIDE_EXPECT)]


def check_report_matches_tree(checks, report, out):
    """The report's kept/removed/after agree with the files in OUT."""
    kept, removed = pc.report_paths(report, "kept"), pc.report_paths(report, "removed")
    files = pc.regular_files(out)
    unlisted = sorted(set(files) - kept)
    checks.check(not unlisted, "every regular file in OUT is listed as kept in the report",
                 f"{len(files)} files, {len(unlisted)} not listed" +
                 (f", e.g. {unlisted[:5]}" if unlisted else ""))
    present = sorted(p for p in removed if os.path.lexists(os.path.join(out, p.lstrip("/"))))
    checks.check(not present, "no path the report lists as removed exists in OUT",
                 f"{len(removed)} removed, {len(present)} present" +
                 (f", e.g. {present[:5]}" if present else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True, help="scratch directory (emptied first)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root("prune.debian_node")
    pc.need_tools("prune.debian_node", "strace")
    root = debian_root.root_for_test(args.root)
    checks = pc.Checks("prune.debian_node")

    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    out, report_file = os.path.join(work, "out"), os.path.join(work, "report.json")

    # The workloads must pass in the full root, and the first one's trace is
    # the budget's reference.
    traced = {}
    for label, argv, expect in WORKLOADS:
        p, sizes = pc.trace_in_root(root, argv, work, label)
        got = p.stdout.rstrip("\n")
        if p.returncode != 0 or got != expect:
            checks.fail(f"workload {label} in the FULL root (the workload itself is wrong)",
                        f"exit {p.returncode}, stdout {got!r}, expected {expect!r}, stderr "
                        f"{p.stderr.strip()[-1500:]!r}")
            return checks.finish()
        traced[label] = sizes
        print(f"traced {label} in the full root: {len(sizes)} files, {sum(sizes.values()):,} bytes")
    reference = traced["node-basic"]
    traced_bytes = sum(reference.values())
    pc.print_largest("largest files node-basic uses:", reference)

    before_listing = pc.snapshot(root, content=False)
    before_files, before_bytes = pc.tree_size(root)
    p = pc.run_elfprune(args.elfprune, ["prune", root, "--entry", "/usr/bin/node", "--out", out,
                                        "--report", report_file])
    checks.check(p.returncode == 0, "prune --entry /usr/bin/node --out exits 0", f"exit {p.returncode}")
    report = pc.load_report(report_file)
    checks.check(report is not None, "the report is written and is JSON")
    diff = pc.diff_snapshots(before_listing, pc.snapshot(root, content=False))
    checks.check(not diff, "--out leaves ROOT unchanged", "; ".join(diff))
    if not os.path.isdir(out):
        checks.fail("OUT was created", out)
        return checks.finish()

    after_files, after_bytes = pc.tree_size(out)
    ratio = after_bytes / traced_bytes
    print(f"ROOT: {before_files} files, {before_bytes:,} bytes; OUT: {after_files} files, "
          f"{after_bytes:,} bytes ({100 * after_bytes / before_bytes:.1f}% of ROOT)")
    print(f"budget: traced minimum {traced_bytes:,} bytes ({pc.mb(traced_bytes)}), kept "
          f"{after_bytes:,} bytes ({pc.mb(after_bytes)}), ratio {ratio:.3f} (limit {BUDGET})")
    union = {**traced["node-basic"], **traced["node-wide"]}
    print(f"  (both workloads together use {sum(union.values()):,} bytes: ratio "
          f"{after_bytes / sum(union.values()):.3f}, for information)")
    checks.check(ratio <= BUDGET, f"OUT weighs at most {BUDGET}x the traced minimum",
                 f"{after_bytes:,} / {traced_bytes:,} = {ratio:.3f}")
    if ratio > BUDGET:
        extra = {k: v for k, v in pc.regular_files(out).items() if k not in union}
        pc.print_largest("largest kept files no workload uses:", extra, 25)

    if report:
        rb = (report.get("after") or {}).get("bytes")
        rf = (report.get("after") or {}).get("files")
        print(f"report: before {report.get('before')}, after {report.get('after')}, "
              f"{len(report.get('removed', []))} removed, {len(report.get('kept', []))} kept, "
              f"{len(report.get('warnings', []))} warnings, problems {report.get('problems')}, "
              f"verified {report.get('verified')}")
        checks.check(isinstance(rb, int) and abs(rb - after_bytes) <= 0.01 * after_bytes,
                     "report after.bytes matches the measured bytes of OUT (1%)",
                     f"report {rb}, measured {after_bytes:,}; report files {rf}, measured {after_files}")
        check_report_matches_tree(checks, report, out)

    pythons = sorted(path for path, _, st in pc.walk(out) if not stat.S_ISDIR(st.st_mode)
                     and re.fullmatch(r"python3(\.\d+)?", os.path.basename(path)))
    checks.check(not pythons, "no python3 program anywhere in OUT", ", ".join(pythons))
    checks.check(not os.path.lexists(os.path.join(out, "usr/lib/python3.11")),
                 "no /usr/lib/python3.11 in OUT")

    pc.prepare_mountpoints(out)
    for label, argv, expect in WORKLOADS:
        pc.check_workload(checks, f"workload {label} runs chrooted in OUT", out, argv, expect)

    return pc.finish(checks, work)


if __name__ == "__main__":
    sys.exit(main())
