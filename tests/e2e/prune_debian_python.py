#!/usr/bin/env python3
"""e2e.prune.debian_python: prune the Debian 12 root for an interpreter
(/usr/bin/python3, then /usr/bin/perl) and check that realistic programs
importing the standard library at run time still work in the result.

    prune_debian_python.py --elfprune BIN --root BUILD/debian-root --work DIR

For each interpreter:
1. `elfprune prune ROOT --entry INTERPRETER --out OUT --report R.json`
   exits 0 with a readable report;
2. the workload (a -c/-e program using many standard modules, several of
   them compiled extensions with their own libraries: sqlite3, ssl, ctypes,
   lzma, decimal, expat, zoneinfo data, multiprocessing, sockets, a
   subprocess through /bin/sh; POSIX, Encode::JP, Storable, Digest::SHA,
   IO::Socket, Compress::Zlib, backticks) prints exactly its expected line
   chrooted in OUT with a clean environment (chroot_run.py: a container-like
   environment, read-only tree, tmpfs /tmp);
3. what the other interpreters bring is gone (no node, no libnode, and no
   python3 for perl);
4. for information: the bytes kept against the bytes the workload really
   opens (strace in the FULL root). Not asserted: an interpreter keeps the
   standard library it may import, not only what this workload imports.

Each workload is first run in the full root: if it fails there, the
workload (not elfprune) is wrong, and the test fails saying so.
"""
import argparse
import os
import shutil
import sys

import debian_root
import prune_common as pc

# Run with `python3 -c`; prints one JSON line.
PYTHON_WORKLOAD = r'''
import asyncio, base64, bz2, collections, csv, ctypes, datetime, decimal, email, email.header, email.utils
import fractions, gzip, hashlib, http.client, http.server, io, json, locale, logging, lzma
import multiprocessing, os, pathlib, pickle, re, shutil, socket, sqlite3, ssl, statistics
import struct, subprocess, sys, tarfile, tempfile, textwrap, threading, unicodedata
import urllib.parse, uuid, xml.etree.ElementTree as ET, zipfile, zlib, zoneinfo
from dataclasses import dataclass

r = collections.OrderedDict()
r["json"] = json.loads(json.dumps({"a": [1, 2.5, None, "é"]}))["a"][3]
r["re"] = re.sub(r"(\w+)@(\w+)", r"\2 at \1", "me@host")
db = sqlite3.connect(":memory:")
db.execute("create table t (x integer, s text)")
db.executemany("insert into t values (?, ?)", [(i, str(i)) for i in range(10)])
r["sqlite3"] = db.execute("select sum(x), group_concat(s, '') from t").fetchone()
ctx = ssl.create_default_context()
r["ssl"] = [ssl.OPENSSL_VERSION.split()[0], ctx.verify_mode == ssl.CERT_REQUIRED]
r["hashlib"] = [hashlib.sha256(b"abc").hexdigest()[:16], hashlib.md5(b"").hexdigest()[:8],
                hashlib.blake2b(b"x", digest_size=8).hexdigest(), hashlib.sha3_256(b"").hexdigest()[:8]]
r["zlib"] = len(zlib.decompress(zlib.compress(b"a" * 10000)))
r["lzma_bz2_gzip"] = [lzma.decompress(lzma.compress(b"xz")).decode(), bz2.decompress(bz2.compress(b"bz")).decode(),
                      gzip.decompress(gzip.compress(b"gz")).decode()]
decimal.getcontext().prec = 30
r["decimal"] = str(decimal.Decimal(1) / decimal.Decimal(7))
r["fractions"] = str(fractions.Fraction(1, 3) + fractions.Fraction(1, 6))
r["datetime"] = (datetime.date(2024, 2, 28) + datetime.timedelta(days=2)).isoformat()
berlin = datetime.datetime(2024, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
r["zoneinfo"] = berlin.astimezone(datetime.timezone.utc).strftime("%H:%M %Z")
r["subprocess"] = subprocess.run(["/bin/sh", "-c", "echo hi"], capture_output=True, text=True).stdout.strip()
msg = email.message_from_string("From: A <a@example.org>\nSubject: =?utf-8?q?h=C3=A9?=\n\nbody\n")
r["email"] = [str(email.header.make_header(email.header.decode_header(msg["Subject"]))),
              email.utils.parseaddr(msg["From"])[1]]
r["xml"] = ET.fromstring('<a><b x="1">t</b></a>').find("b").get("x")
r["urllib"] = urllib.parse.parse_qs(urllib.parse.urlparse("https://x.org/p?q=1&q=2").query)["q"]
r["csv"] = list(csv.reader(io.StringIO('a,"b,c"\n1,2\n')))
r["unicodedata"] = [unicodedata.name("é"), unicodedata.normalize("NFD", "é") == "e\u0301"]
r["codecs"] = ["€".encode("cp1252").hex(), "あ".encode("shift_jis").hex(), "ß".encode("idna").decode()]
r["ctypes"] = ctypes.CDLL("libc.so.6").strlen(b"hello")
r["struct_base64"] = base64.b64encode(struct.pack(">IH", 1, 2)).decode()
r["uuid"] = str(uuid.uuid5(uuid.NAMESPACE_DNS, "example.org"))
r["statistics"] = statistics.median([3, 1, 2, 5])
with tempfile.TemporaryDirectory() as d:
    p = pathlib.Path(d) / "f.txt"
    p.write_text("tmp")
    with tarfile.open(pathlib.Path(d) / "a.tar.gz", "w:gz") as t:
        t.add(p, arcname="f.txt")
    with zipfile.ZipFile(pathlib.Path(d) / "a.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(p, "f.txt")
    with tarfile.open(pathlib.Path(d) / "a.tar.gz") as t:
        r["tempfile_tar_zip"] = [t.getnames(), zipfile.ZipFile(pathlib.Path(d) / "a.zip").read("f.txt").decode()]
@dataclass
class P:
    x: int
    y: int = 2
r["pickle"] = pickle.loads(pickle.dumps(P(1))).y
async def main():
    await asyncio.sleep(0)
    return await asyncio.gather(*(asyncio.to_thread(pow, 2, i) for i in range(4)))
r["asyncio"] = asyncio.run(main())
a, b = socket.socketpair()
a.sendall(b"ping")
r["socket"] = b.recv(4).decode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"pong " + self.path.encode())
    def log_message(self, *args):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.handle_request, daemon=True).start()
c = http.client.HTTPConnection("127.0.0.1", srv.server_port)
c.request("GET", "/x")
r["http"] = c.getresponse().read().decode()
with multiprocessing.get_context("fork").Pool(2) as pool:
    r["multiprocessing"] = pool.map(abs, [-1, -2, -3])
r["locale"] = locale.setlocale(locale.LC_ALL, "C.UTF-8")
r["textwrap"] = textwrap.wrap("a b c d", 3)
print(json.dumps(r))
'''
PYTHON_EXPECT = r'''{"json": "\u00e9", "re": "host at me", "sqlite3": [45, "0123456789"], "ssl": ["OpenSSL", true], "hashlib": ["ba7816bf8f01cfea", "d41d8cd9", "4adf4367f96e584f", "a7ffc6f8"], "zlib": 10000, "lzma_bz2_gzip": ["xz", "bz", "gz"], "decimal": "0.142857142857142857142857142857", "fractions": "1/2", "datetime": "2024-03-01", "zoneinfo": "10:00 UTC", "subprocess": "hi", "email": ["h\u00e9", "a@example.org"], "xml": "1", "urllib": ["1", "2"], "csv": [["a", "b,c"], ["1", "2"]], "unicodedata": ["LATIN SMALL LETTER E WITH ACUTE", true], "codecs": ["80", "82a0", "ss"], "ctypes": 5, "struct_base64": "AAAAAQAC", "uuid": "aad03681-8b63-5304-89e0-8ca8f49461b5", "statistics": 2.5, "tempfile_tar_zip": [["f.txt"], "tmp"], "pickle": 2, "asyncio": [1, 2, 4, 8], "socket": "ping", "http": "pong /x", "multiprocessing": [1, 2, 3], "locale": "C.UTF-8", "textwrap": ["a b", "c d"]}'''

# Run with `perl -e`; prints one line.
PERL_WORKLOAD = r'''
use strict; use warnings;
use POSIX qw(floor strftime); use File::Temp qw(tempfile tempdir); use Data::Dumper;
use List::Util qw(sum max first); use Scalar::Util qw(blessed reftype looks_like_number);
use Digest::MD5 qw(md5_hex); use Digest::SHA qw(sha256_hex); use MIME::Base64;
use Storable qw(dclone freeze thaw); use Encode qw(encode decode); use JSON::PP;
use Time::Local qw(timegm); use File::Spec; use File::Path qw(make_path remove_tree);
use File::Basename qw(basename dirname); use File::Copy qw(copy); use File::Find;
use Cwd qw(getcwd abs_path); use Getopt::Long qw(GetOptionsFromArray); use IO::File;
use IO::Handle; use Socket; use IO::Socket::INET; use Time::HiRes qw(usleep);
use Text::Wrap qw(wrap); use Text::ParseWords qw(shellwords); use Fcntl qw(:flock O_RDONLY);
use Math::BigInt; use Unicode::Normalize qw(NFD); use Compress::Zlib; use Sys::Hostname;
use constant PI => 4 * atan2(1, 1);
$Data::Dumper::Sortkeys = 1; $Data::Dumper::Indent = 0; $Data::Dumper::Terse = 1;
my @r;
push @r, "posix=" . floor(-2.5) . "," . strftime("%Y-%m-%d", gmtime(86400 * 365));
my $dir = tempdir(CLEANUP => 1);
my ($fh, $name) = tempfile(DIR => $dir);
print $fh "line1\nline2\n"; close $fh;
make_path("$dir/a/b");
copy($name, "$dir/a/b/copy") or die "copy: $!";
my @found; find(sub { push @found, $_ if -f }, "$dir/a");
open(my $in, "<", "$dir/a/b/copy") or die; flock($in, LOCK_SH); my @lines = <$in>; close $in;
push @r, "files=" . scalar(@lines) . "," . join(",", @found) . "," . basename("$dir/a/b/copy");
push @r, "dumper=" . Dumper({ b => [1, 2], a => \"x" });
push @r, "list=" . sum(1 .. 10) . "," . max(3, 9, 2) . "," . first { $_ > 3 } (1, 5, 7);
push @r, "scalar=" . (blessed(bless {}, "Foo")) . "," . reftype([]) . "," . (looks_like_number("1e3") ? 1 : 0);
push @r, "digest=" . substr(md5_hex("abc"), 0, 8) . "," . substr(sha256_hex("abc"), 0, 8);
push @r, "base64=" . encode_base64("héllo", "");
my $deep = { k => [1, { z => 2 }] };
push @r, "storable=" . thaw(freeze(dclone($deep)))->{k}[1]{z};
push @r, "encode=" . unpack("H*", encode("UTF-8", decode("iso-8859-1", "\xe9"))) . "," . unpack("H*", encode("shiftjis", "\x{3042}"));
push @r, "json=" . JSON::PP->new->canonical->ascii->encode(decode_json('{"b":[1,2],"a":"\u00e9"}'));
push @r, "timelocal=" . timegm(0, 0, 0, 1, 0, 2000);
push @r, "spec=" . File::Spec->catfile("a", "b", "c.txt");
my @args = ("--n", "3", "--v"); my ($n, $v); GetOptionsFromArray(\@args, "n=i" => \$n, "v" => \$v);
push @r, "getopt=$n,$v";
push @r, "socket=" . inet_ntoa(inet_aton("127.0.0.1"));
my $srv = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0, Proto => "tcp") or die "listen: $!";
my $cli = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $srv->sockport, Proto => "tcp") or die "connect: $!";
my $acc = $srv->accept; print $cli "ping\n"; $cli->flush; my $got = <$acc>; chomp $got;
push @r, "tcp=$got";
usleep(1000);
$Text::Wrap::columns = 6;
push @r, "wrap=" . join("|", split /\n/, wrap("", "", "aa bb cc"));
push @r, "words=" . join("|", shellwords(q{a "b c" d}));
push @r, "bigint=" . Math::BigInt->new(2)->bpow(100);
push @r, "nfd=" . length(NFD("\x{e9}"));
push @r, "zlib=" . length(uncompress(compress("z" x 1000)));
push @r, "pi=" . sprintf("%.5f", PI);
push @r, "hostname=" . (length(hostname()) > 0 ? 1 : 0);
# Through /bin/sh (the `;` makes perl use a shell), whose builtin echo answers; a
# bare `echo hi` would exec /usr/bin/echo, a program no entry names.
my $hi = `echo hi; exit 0`; chomp $hi;
push @r, "backticks=$hi";
push @r, "system=" . system("/bin/sh", "-c", "exit 3") / 256;
print join(" ", @r), "\n";
'''
PERL_EXPECT = r'''posix=-3,1971-01-01 files=2,copy,copy dumper={'a' => \'x','b' => [1,2]} list=55,9,5 scalar=Foo,ARRAY,1 digest=90015098,ba7816bf base64=aMOpbGxv storable=2 encode=c3a9,82a0 json={"a":"\u00e9","b":[1,2]} timelocal=946684800 spec=a/b/c.txt getopt=3,1 socket=127.0.0.1 tcp=ping wrap=aa bb|cc words=a|b c|d bigint=1267650600228229401496703205376 nfd=2 zlib=1000 pi=3.14159 hostname=1 backticks=hi system=3'''


CASES = [
    {"label": "python3", "entry": "/usr/bin/python3",
     "argv": ["/usr/bin/python3", "-c", PYTHON_WORKLOAD], "expect": PYTHON_EXPECT,
     "absent": ["/usr/bin/node", "/usr/bin/nodejs", "/usr/lib/x86_64-linux-gnu/libnode.so.108",
                "/usr/share/nodejs"]},
    {"label": "perl", "entry": "/usr/bin/perl",
     "argv": ["/usr/bin/perl", "-e", PERL_WORKLOAD], "expect": PERL_EXPECT,
     "absent": ["/usr/bin/node", "/usr/lib/x86_64-linux-gnu/libnode.so.108",
                "/usr/bin/python3", "/usr/bin/python3.11", "/usr/lib/python3.11"]},
]


def run_case(checks, elfprune, root, work, case):
    label = case["label"]
    print(f"== {label}: --entry {case['entry']}")
    p, traced = pc.trace_in_root(root, case["argv"], work, label)
    got = p.stdout.rstrip("\n")
    if p.returncode != 0 or got != case["expect"]:
        checks.fail(f"{label} workload in the FULL root (the workload itself is wrong)",
                    f"exit {p.returncode}, stdout {got!r}, expected {case['expect']!r}, stderr "
                    f"{p.stderr.strip()[-1500:]!r}")
        return
    traced_bytes = sum(traced.values())
    out, report_file = os.path.join(work, f"out-{label}"), os.path.join(work, f"report-{label}.json")
    p = pc.run_elfprune(elfprune, ["prune", root, "--entry", case["entry"], "--out", out,
                                   "--report", report_file])
    checks.check(p.returncode == 0, f"{label}: prune --entry {case['entry']} --out exits 0",
                 f"exit {p.returncode}")
    report = pc.load_report(report_file)
    checks.check(report is not None, f"{label}: the report is written and is JSON")
    if not os.path.isdir(out):
        checks.fail(f"{label}: OUT was created", out)
        return
    files, size = pc.tree_size(out)
    print(f"{label}: OUT {files} files, {size:,} bytes; report after {(report or {}).get('after')}; "
          f"the workload uses {len(traced)} files, {traced_bytes:,} bytes in the full root: "
          f"ratio {size / traced_bytes:.2f} (for information)")
    for bad in case["absent"]:
        checks.check(not os.path.lexists(os.path.join(out, bad.lstrip("/"))), f"{label}: no {bad} in OUT")
    pc.prepare_mountpoints(out)
    ok = pc.check_workload(checks, f"{label}: workload runs chrooted in OUT", out, case["argv"],
                           case["expect"])
    if not ok:
        missing = {k: v for k, v in traced.items()
                   if not os.path.lexists(os.path.join(out, k.lstrip("/")))}
        pc.print_largest(f"{label}: files the workload opens in the full root that are not in OUT "
                         f"({len(missing)}):", missing, 40)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True, help="scratch directory (emptied first)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pc.need_root("prune.debian_python")
    pc.need_tools("prune.debian_python", "strace")
    root = debian_root.root_for_test(args.root)
    checks = pc.Checks("prune.debian_python")
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for case in CASES:
        run_case(checks, args.elfprune, root, work, case)
    return pc.finish(checks, work)


if __name__ == "__main__":
    sys.exit(main())
