#!/usr/bin/env python3
"""e2e.trace.oracle: `elfprune trace` against strace as the oracle, on
fixtures compiled here.

    trace_oracle.py --elfprune BIN --work DIR

A fixture root is made under DIR: static programs compiled with gcc (one
dynamic one, and dash, with the host's ld.so and libc), data files and
directories, symlink chains (/data/l1 -> l2 -> ../real/file, absolute,
dangling, looping and directory links), names with a space, a tab, a
newline, a backslash, an escape byte and UTF-8, empty /proc /dev /tmp.

Each fixture runs twice: under `strace -f -y` chrooted in a copy of the
root (the oracle: everything after the fixture's first execve; relative
names resolved against the cwd strace shows for AT_FDCWD, or the cwd
tracked through chdir/fchdir/clone for the calls without a dirfd; -y fds
mapped back into the root; `.` and repeated slashes dropped, `..` kept),
and under `elfprune trace ROOT -o FILE -- /usr/bin/FIXTURE`. For each:
- the trace file is well formed (version, root and command header, `PID
  CALL RESULT PATH` lines with known calls and results, normalized
  absolute paths, valid escapes, a `# exit:` footer matching the exit
  status, which matches the oracle's);
- every path strace saw (kernel file systems /proc /dev /sys aside) is in
  the trace; every (call, path) pair with the same call; every (call,
  path, result) triple with the same result (ok or the errno name);
- every successful execve/execveat in the trace is followed by an `exe`
  line of the same PID naming the program the kernel ran (the script's
  interpreter for a `#!` script), and a dynamic program's by an `interp`
  line naming its ELF interpreter.

The fixtures:
1. dirfd: openat/openat2/newfstatat/statx/faccessat/faccessat2/readlinkat
   on a dirfd, chdir and relative open/access/readlink, the legacy
   open/stat/lstat/access/readlink/creat/getdents system calls, getdents64
   through opendir, fchdir to a dirfd then relative names, `..` kept,
   ENOENT/ENOTDIR/EACCES/EINVAL results, the odd names; chdir through a
   directory symlink (relative names then resolve against the kernel's
   cwd, the link's target, as strace's AT_FDCWD</cwd> shows).
2. symlinks: opens and stats through chains of relative and absolute
   links, dangling (ENOENT) and looping (ELOOP) links, `..` after a link.
3. threads: four threads released together by a barrier, each opening its
   own files many times (one with openat on a dirfd, one cwd-relative);
   each prints its thread id, which must be the PID of its lines.
4. vfork: vfork + execve (a missing program, ENOENT, then one through the
   /bin symlink), fork + chdir + execveat(dirfd, "bin/dynchild") of a
   dynamic program (the loader's library search), posix_spawn.
5. scripts: execve of a `#!` script (relative, through a symlink) whose
   interpreter is a fixture that opens the script and runs its commands,
   then execve of a `#!/bin/sh` script (dash: cd, test -e, `.`, a
   redirection, a glob, a PATH lookup).
6. daemonize: fork, setsid, fork; the grandchild opens files, tells the
   parent over a pipe, sleeps 3 s and opens one more: the trace ends when
   the parent exits, well before, with no process left and without that
   last open.
7. timeout: opens, forks a child that opens and sleeps, sleeps forever:
   `--timeout 2` exits 124 within seconds, the trace ends `# timeout:`
   and has the opens made before (the oracle runs under `timeout 2`),
   no process of it and no sandbox mount or directory is left.
Also: exit statuses (3; SIGKILL 137; SIGSEGV 139) in the exit and the
footer; --workdir, --env, stdin /dev/null, stdout and stderr passed
through, and the PID the program sees being its trace PID (envdump); a
command missing in ROOT (by path and on PATH) fails with a message saying
so; a missing ROOT is `elfprune: error:` exit 2; ROOT is unchanged after
all runs (entry count and a metadata checksum).
"""
import argparse
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from loader_compare import realpath_in
from prune_common import (Checks, elf_interpreter, finish, fingerprint, need_root, need_tools,
                          shebang_interpreter)

NAME = "e2e.trace.oracle"
KERNEL_FS = ("/proc", "/dev", "/sys")
LOADER = "/lib64/ld-linux-x86-64.so.2"
MULTIARCH = "/usr/lib/x86_64-linux-gnu"
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "HOME": "/root", "LANG": "C.UTF-8"}
CALLS = ("open openat openat2 creat execve execveat stat lstat newfstatat statx access faccessat "
         "faccessat2 readlink readlinkat chdir fchdir getdents64 getdents").split()
TRACE_CALLS = set(CALLS) | {"exe", "interp"}
# Calls whose first argument is a dirfd, a path, or an fd alone.
DIRFD_CALLS = {"openat", "openat2", "execveat", "newfstatat", "statx", "faccessat", "faccessat2",
               "readlinkat"}
PATH_CALLS = {"open", "creat", "execve", "stat", "lstat", "access", "readlink", "chdir"}
FD_CALLS = {"fchdir", "getdents64", "getdents"}
CLONES = {"clone", "clone3", "fork", "vfork"}

# ---------------------------------------------------------------- fixtures

COMMON_C = r"""
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
__attribute__((unused)) static void o(const char *p) { int fd = open(p, O_RDONLY); if (fd >= 0) close(fd); }
__attribute__((unused)) static void oat(int d, const char *p) { int fd = openat(d, p, O_RDONLY); if (fd >= 0) close(fd); }
__attribute__((unused)) static void st(const char *p) { struct stat s; stat(p, &s); }
__attribute__((unused)) static void ls(const char *p) {
  DIR *d = opendir(p);
  if (d) { while (readdir(d)) {} closedir(d); }
}
"""

DIRFD_C = r"""
int main(void) {
  struct stat s;
  struct statx sx;
  char buf[4096];
  int d = open("/data", O_RDONLY | O_DIRECTORY);
  oat(d, "rel/file");
  oat(d, "rel/missing");
  fstatat(d, "x", &s, 0);
  fstatat(d, "rel", &s, AT_SYMLINK_NOFOLLOW);
  fstatat(d, "", &s, AT_EMPTY_PATH);
  statx(d, "rel/file", 0, STATX_BASIC_STATS, &sx);
  faccessat(d, "rel/file", R_OK, 0);
  faccessat(d, "rel/file", R_OK, AT_EACCESS);
  syscall(SYS_faccessat, d, "rel", F_OK);
  readlinkat(d, "l2", buf, sizeof buf);
  struct open_how how = {.flags = O_RDONLY};
  int fd = syscall(SYS_openat2, d, "sub/other", &how, sizeof how);
  if (fd >= 0) close(fd);
  syscall(SYS_openat2, d, "rel/nope", &how, sizeof how);
  oat(d, "odd name\twith tab");
  if (chdir("/data") != 0) return 10;
  o("sub/file");
  access("rel", R_OK);
  syscall(SYS_access, "rel/file", F_OK);
  fd = syscall(SYS_open, "rel/file", O_RDONLY);
  if (fd >= 0) close(fd);
  syscall(SYS_stat, "sub", &s);
  syscall(SYS_lstat, "l1", &s);
  syscall(SYS_readlink, "l1", buf, sizeof buf);
  readlink("chain", buf, sizeof buf);
  ls("sub");
  int sd = open("sp ace", O_RDONLY | O_DIRECTORY);
  syscall(SYS_getdents, sd, buf, sizeof buf);
  close(sd);
  fd = syscall(SYS_creat, "/tmp/created", 0644);
  if (fd >= 0) close(fd);
  o("/tmp/created");
  if (chdir("sub") != 0) return 11;
  o("../rel/file");
  o("./file");
  o("..//rel/./file");
  if (fchdir(d) != 0) return 12;
  o("relative");
  oat(AT_FDCWD, "sub/other");
  if (chdir("/") != 0) return 13;
  o("data/./rel//file");
  o("data/rel/file/x");
  char *argv[] = {"/data/rel/file", NULL};
  execve("/data/rel/file", argv, environ);
  chdir("/nonexistent");
  chdir("/data/rel/file");
  o("/data/odd name\twith tab");
  o("/data/new\nline");
  o("/data/back\\slash");
  o("/data/caf\xc3\xa9");
  o("/data/esc\033name");
  o("/data/sp ace/in dir");
  if (chdir("/data/dirlink") != 0) return 14;
  o("file");
  syscall(SYS_stat, "dir/inner", &s);
  return 0;
}
"""

SYMLINKS_C = r"""
int main(void) {
  struct stat s;
  char buf[256];
  o("/data/l1");
  o("/data/chain");
  o("/data/abs/inner");
  o("/data/dangling");
  o("/data/loop1");
  o("/data/dirlink/file");
  o("/data/dirlink/../real/file");
  o("/data/dirlink/../data/rel/file");
  lstat("/data/l1", &s);
  stat("/data/chain", &s);
  lstat("/data/dangling", &s);
  stat("/data/dangling", &s);
  readlink("/data/chain", buf, sizeof buf);
  readlink("/real/file", buf, sizeof buf);
  int d = open("/data/dirlink", O_RDONLY | O_DIRECTORY);
  oat(d, "file");
  fstatat(d, "../data/l1", &s, AT_SYMLINK_NOFOLLOW);
  if (chdir("/data") != 0) return 10;
  o("l1");
  o("abs/inner");
  syscall(SYS_lstat, "chain", &s);
  return 0;
}
"""

THREADS_C = r"""
static int dfd;
static pthread_barrier_t bar;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *run(void *arg) {
  long i = (long)arg;
  char p[64];
  pthread_barrier_wait(&bar);
  for (int k = 0; k < 25; k++) {
    switch (i) {
      case 0: o("/data/thread/f0"); break;
      case 1: oat(dfd, "thread/f1"); break;
      case 2: st("/data/thread/f2"); break;
      default: access("data/thread/f3", R_OK); break;
    }
  }
  snprintf(p, sizeof p, "/data/thread/missing-%ld", i);
  o(p);
  pthread_mutex_lock(&mu);
  printf("T %d %ld\n", (int)gettid(), i);
  fflush(stdout);
  pthread_mutex_unlock(&mu);
  return NULL;
}
int main(void) {
  pthread_t t[4];
  dfd = open("/data", O_RDONLY | O_DIRECTORY);
  pthread_barrier_init(&bar, NULL, 5);
  for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, run, (void *)i);
  pthread_barrier_wait(&bar);
  o("/data/thread/main");
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  o("/data/thread/after");
  return 0;
}
"""

VFORK_C = r"""
int main(void) {
  int status;
  char *a1[] = {"vchild", "vfork", NULL};
  pid_t p = vfork();
  if (p == 0) {
    execve("/bin/nonexistent", a1, environ);
    execve("/bin/vchild", a1, environ);
    _exit(127);
  }
  waitpid(p, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 20;
  p = fork();
  if (p == 0) {
    if (chdir("/real") != 0) _exit(30);
    o("file");
    int u = open("/usr", O_RDONLY | O_DIRECTORY);
    char *a2[] = {"dynchild", NULL};
    syscall(SYS_execveat, u, "bin/dynchild", a2, environ, 0);
    _exit(127);
  }
  waitpid(p, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 21;
  char *a3[] = {"vchild", "spawn", NULL};
  if (posix_spawn(&p, "/usr/bin/vchild", NULL, NULL, a3, environ) != 0) return 22;
  waitpid(p, &status, 0);
  o("/data/vfork-parent-done");
  return 0;
}
"""

VCHILD_C = r"""
int main(int argc, char **argv) {
  char p[64];
  snprintf(p, sizeof p, "/data/vchild-%s", argc > 1 ? argv[1] : "none");
  o(p);
  o("rel/file");
  o("/data/rel/file");
  return 0;
}
"""

# Dynamic: the loader's search for libc is part of what is traced.
DYNCHILD_C = r"""
int main(void) {
  o("file");
  o("/data/dyn-missing");
  return 0;
}
"""

SCRIPTS_C = r"""
int main(void) {
  int status;
  pid_t p = fork();
  if (p == 0) {
    if (chdir("/usr/bin") != 0) _exit(30);
    char *a[] = {"./iscript-link", "arg1", NULL};
    execve("./iscript-link", a, environ);
    _exit(127);
  }
  waitpid(p, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 20;
  char *b[] = {"/usr/bin/dscript", NULL};
  execve("/usr/bin/dscript", b, environ);
  return 127;
}
"""

# The `#!` interpreter: argv is INTERP -x SCRIPT ARGS; runs the script's
# lines `open P`, `stat P`, `cd P`, `ls P`.
INTERP_C = r"""
int main(int argc, char **argv) {
  if (argc < 3 || strcmp(argv[1], "-x") != 0) return 2;
  FILE *f = fopen(argv[2], "r");
  if (!f) return 3;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *arg = strchr(line, ' ');
    if (!arg) continue;
    *arg++ = 0;
    if (!strcmp(line, "open")) o(arg);
    else if (!strcmp(line, "stat")) st(arg);
    else if (!strcmp(line, "cd")) { if (chdir(arg) != 0) return 4; }
    else if (!strcmp(line, "ls")) ls(arg);
  }
  fclose(f);
  return 0;
}
"""

ISCRIPT = """#!/usr/bin/interp -x
open /data/rel/file
cd /real
open file
stat dir/inner
ls /data/sub
open /data/iscript-missing
"""

DSCRIPT = """#!/bin/sh
cd /data
[ -e rel/file ] && echo has-rel
. /data/sourced.sh
read line < sub/file
echo sub/* > /tmp/glob-out
vchild dash
exit 0
"""

DAEMONIZE_C = r"""
int main(int argc, char **argv) {
  int pf[2];
  if (pipe(pf) != 0) return 10;
  pid_t p = fork();
  if (p == 0) {
    setsid();
    if (fork() == 0) {
      close(pf[0]);
      o("/data/daemon/f1");
      st("/data/daemon/f2");
      if (chdir("/data/daemon") != 0) _exit(1);
      o("rel");
      access("/data/daemon/missing", F_OK);
      if (write(pf[1], "x", 1) != 1) _exit(1);
      close(pf[1]);
      sleep(3);
      o("/data/daemon-late");
      _exit(0);
    }
    _exit(0);
  }
  close(pf[1]);
  waitpid(p, NULL, 0);
  char c;
  if (read(pf[0], &c, 1) != 1) return 11;
  o("/data/daemon/parent-done");
  return 0;
}
"""

SLEEPER_C = r"""
int main(void) {
  o("/data/rel/file");
  st("/data/sleep-missing");
  if (fork() == 0) {
    o("/data/sleep-child");
    for (;;) pause();
  }
  printf("sleeping\n");
  fflush(stdout);
  for (;;) pause();
}
"""

STATUS_C = r"""
int main(int argc, char **argv) {
  o("/data/rel/file");
  if (argc < 2) return 0;
  if (!strcmp(argv[1], "exit3")) return 3;
  if (!strcmp(argv[1], "kill")) raise(SIGKILL);
  if (!strcmp(argv[1], "segv")) { volatile int *p = (volatile int *)(long)(argc - 2); *p = 1; }
  return 0;
}
"""

ENVDUMP_C = r"""
#include <errno.h>
#include <sys/syscall.h>
int main(void) {
  char c, cwd[512];
  static char uring_params[256];  /* struct io_uring_params, zeroed */
  long uring = syscall(425 /* io_uring_setup */, 1, uring_params);
  printf("uring %ld %d\n", uring, uring < 0 ? errno : 0);
  ssize_t n = read(0, &c, 1);
  printf("stdin %zd\n", n);
  printf("pid %d\n", (int)getpid());
  printf("cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
  for (char **e = environ; *e; e++) printf("env %s\n", *e);
  fflush(stdout);
  fprintf(stderr, "to-stderr\n");
  o("rel/file");
  return 0;
}
"""

PROCPATHS_C = r"""
int main(void) {
  if (chdir("/data") != 0) return 1;
  o("/proc/self/root/data/rel/file");
  o("/proc/self/cwd/sub/file");
  int d = open("/data", O_RDONLY | O_DIRECTORY);
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d/sub/other", d);
  o(p);
  struct open_how how = {.flags = O_RDONLY, .resolve = RESOLVE_IN_ROOT};
  int fd = syscall(SYS_openat2, d, "/thread/main", &how, sizeof how);
  if (fd < 0) return 2;
  close(fd);
  return 0;
}
"""

# name: (source, static)
PROGRAMS = {
    "dirfd": (DIRFD_C, True), "symlinks": (SYMLINKS_C, True), "threads": (THREADS_C, True),
    "vfork": (VFORK_C, True), "vchild": (VCHILD_C, True), "dynchild": (DYNCHILD_C, False),
    "scripts": (SCRIPTS_C, True), "interp": (INTERP_C, True), "daemonize": (DAEMONIZE_C, True),
    "sleeper": (SLEEPER_C, True), "status": (STATUS_C, True), "envdump": (ENVDUMP_C, True),
    "procpaths": (PROCPATHS_C, True),
}

ODD_NAMES = [b"odd name\twith tab", b"new\nline", b"back\\slash", b"caf\xc3\xa9", b"esc\x1bname"]


def sh(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)




def build_programs(c, work):
    src = os.path.join(work, "src")
    os.makedirs(src, exist_ok=True)
    bins = {}
    for name, (text, static) in PROGRAMS.items():
        path = os.path.join(src, name + ".c")
        with open(path, "w") as f:
            f.write(COMMON_C + text)
        out = os.path.join(src, name)
        cmd = ["gcc", "-O1", "-Wall", "-pthread"] + (["-static"] if static else []) + ["-o", out, path]
        g = sh(cmd)
        if g.returncode != 0:
            c.fail(f"gcc {name}.c", g.stderr[-2000:])
            return None
        bins[name] = out
    return bins


def write(root, path, text=b"", mode=0o644):
    host = os.path.join(root.encode(), path.lstrip(b"/") if isinstance(path, bytes) else path.lstrip("/").encode())
    os.makedirs(os.path.dirname(host), exist_ok=True)
    with open(host, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    os.chmod(host, mode)


def make_root(work, bins):
    root = os.path.join(work, "root")
    for d in ("usr/bin", MULTIARCH[1:], "usr/lib64", "proc", "dev", "sys", "tmp", "root", "etc",
              "data/rel", "data/sub", "data/thread", "data/daemon", "data/sp ace", "real/dir"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    for d in ("bin", "lib", "lib64"):
        os.symlink(f"usr/{d}", os.path.join(root, d))
    shutil.copy2(os.path.realpath(LOADER), os.path.join(root, "usr/lib64/ld-linux-x86-64.so.2"))
    shutil.copy2(os.path.realpath(f"{MULTIARCH}/libc.so.6"), os.path.join(root, MULTIARCH[1:], "libc.so.6"))
    shutil.copy2(os.path.realpath("/bin/dash"), os.path.join(root, "usr/bin/dash"))
    os.symlink("dash", os.path.join(root, "usr/bin/sh"))
    for name, path in bins.items():
        shutil.copy2(path, os.path.join(root, "usr/bin", name))
    write(root, "/usr/bin/iscript", ISCRIPT, 0o755)
    os.symlink("iscript", os.path.join(root, "usr/bin/iscript-link"))
    write(root, "/usr/bin/dscript", DSCRIPT, 0o755)
    for f in ("/data/rel/file", "/data/sub/file", "/data/sub/other", "/real/file", "/real/dir/inner",
              "/data/daemon/f1", "/data/daemon/f2", "/data/daemon/rel", "/data/sp ace/in dir",
              "/data/thread/main", "/data/thread/after") + tuple(f"/data/thread/f{i}" for i in range(4)):
        write(root, f, f"{f}\n")
    write(root, "/data/sourced.sh", "x=1\n")
    for n in ODD_NAMES:
        write(root, b"/data/" + n, b"odd\n")
    for link, target in (("l1", "l2"), ("l2", "../real/file"), ("chain", "l1"), ("abs", "/real/dir"),
                         ("dangling", "/nowhere"), ("loop1", "loop2"), ("loop2", "loop1"),
                         ("dirlink", "../real")):
        os.symlink(target, os.path.join(root, "data", link))
    return root


# ---------------------------------------------------------------- paths

def normalize(path):
    """Absolute path with `.` and repeated slashes dropped, `..` kept."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return "/" + "/".join(parts)


def join(base, rel):
    return normalize(rel if rel.startswith("/") else base + "/" + rel)


def under_kernel_fs(path):
    return any(path == k or path.startswith(k + "/") for k in KERNEL_FS)


_STRACE_ESC = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "a": 7, "b": 8, "e": 27, "\\": 92,
               '"': 34, "'": 39}


def strace_unescape(s):
    """strace's quoted text (\\n, \\NNN octal, \\xHH) as a str of the bytes
    (surrogateescape for non-UTF-8)."""
    out = bytearray()
    i = 0
    while i < len(s):
        ch = s[i]
        if ch != "\\" or i + 1 >= len(s):
            out += ch.encode("utf-8", "surrogateescape")
            i += 1
            continue
        nxt = s[i + 1]
        if nxt == "x" and re.match(r"[0-9a-fA-F]{2}", s[i + 2:i + 4]):
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        elif nxt in "01234567":
            m = re.match(r"[0-7]{1,3}", s[i + 1:])
            out.append(int(m[0], 8) & 0xFF)
            i += 1 + len(m[0])
        else:
            out.append(_STRACE_ESC.get(nxt, ord(nxt)))
            i += 2
    return out.decode("utf-8", "surrogateescape")


def trace_escape(path):
    """A path written as the trace format writes it (for messages)."""
    out = []
    for b in path.encode("utf-8", "surrogateescape"):
        if b == 0x5C:
            out.append("\\\\")
        elif b == 10:
            out.append("\\n")
        elif b == 9:
            out.append("\\t")
        elif b < 0x20 or b == 0x7F:
            out.append(f"\\x{b:02x}")
        else:
            out.append(chr(b) if b < 0x80 else f"<{b:02x}>")
    return "".join(out)


def trace_unescape(s):
    """The trace format's PATH (\\\\, \\n, \\t, \\xHH) as a str, or None if
    an escape is invalid."""
    out = bytearray()
    raw = s.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(raw):
        b = raw[i]
        if b != 0x5C:
            out.append(b)
            i += 1
            continue
        nxt = raw[i + 1:i + 2]
        if nxt == b"\\":
            out.append(0x5C)
            i += 2
        elif nxt == b"n":
            out.append(10)
            i += 2
        elif nxt == b"t":
            out.append(9)
            i += 2
        elif nxt == b"x" and re.fullmatch(rb"[0-9a-fA-F]{2}", raw[i + 2:i + 4]):
            out.append(int(raw[i + 2:i + 4], 16))
            i += 4
        else:
            return None
    return out.decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------- the oracle

_LINE = re.compile(r"^(\d+)\s+(.*)$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>\s?(.*)$")
_HEAD = re.compile(r"^(\w+)\((.*)$", re.S)
_FD = re.compile(r"^(AT_FDCWD|-?\d+)(?:<((?:[^>\\]|\\.)*)>)?")
_STR = re.compile(r'^"((?:[^"\\]|\\.)*)"(\.\.\.)?')
_EQ = re.compile(r"\)\s+= ")
_RET = re.compile(r"^(-?\d+|\?)(?:<(?:[^>\\]|\\.)*>)?(?:\s+(E[A-Z0-9]+)\b.*)?$")


def strace_records(log):
    """Whole system calls from an strace -f log, in the order they were
    entered: dicts pid, name, args, ret, errno, line (the text), seq."""
    pending = {}
    records = []
    with open(log, encoding="utf-8", errors="surrogateescape") as f:
        for seq, raw in enumerate(f):
            m = _LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            pid, text = int(m[1]), m[2]
            if text.endswith("<unfinished ...>"):
                pending[pid] = (text[: -len("<unfinished ...>")].rstrip(), seq)
                continue
            r = _RESUMED.match(text)
            if r:
                head, entered = pending.pop(pid, (r[1] + "(", seq))
                text = head + r[2]
            else:
                entered = seq
            h = _HEAD.match(text)
            if not h:
                continue
            # `) = RET`, padded with spaces for alignment; the last one.
            ends = list(_EQ.finditer(text))
            if not ends:
                continue
            args = text[len(h[1]) + 1:ends[-1].start()]
            ret = _RET.match(text[ends[-1].end():].strip())
            if not ret:
                continue
            records.append({"pid": pid, "name": h[1], "args": args, "ret": ret[1], "errno": ret[2],
                            "line": f"{pid} {text}", "seq": entered})
    records.sort(key=lambda r: r["seq"])
    return records


class Oracle:
    """What strace saw: events (pid, call, path inside the root, result,
    strace line) of the fixture and everything it started, from its exec
    on, and the lines it could not understand."""

    def __init__(self, host_root):
        self.host_root = os.path.realpath(host_root)
        self.events = []
        self.problems = []  # lines the oracle could not understand

    def inside(self, host):
        host = strace_unescape(host).removesuffix(" (deleted)")
        if host == self.host_root:
            return "/"
        if host.startswith(self.host_root + "/"):
            return normalize(host[len(self.host_root):])
        return None

    def parse(self, log):
        records = strace_records(log)
        # A child's lines may come before its parent's `clone(...) = PID`
        # line: its parent, and whether they share the cwd, first.
        parent = {}
        for r in records:
            if r["name"] in CLONES and r["ret"].isdigit() and r["ret"] != "0":
                shares = r["name"] in ("clone", "clone3") and re.search(r"\bCLONE_FS\b", r["args"])
                parent[int(r["ret"])] = (r["pid"], bool(shares))
        cwd = {}  # pid -> [cwd] (a list shared by CLONE_FS threads)

        def cell_of(pid):
            if pid not in cwd:
                if pid in parent:
                    up, shares = parent[pid]
                    cwd[pid] = cell_of(up) if shares else [cell_of(up)[0]]
                else:
                    cwd[pid] = ["/"]
            return cwd[pid]

        started = chrooted = False
        launcher = None
        for r in records:
            pid, name, args = r["pid"], r["name"], r["args"]
            ok = r["ret"] not in ("?",) and not r["ret"].startswith("-")
            if name in CLONES:
                continue
            cell = cell_of(pid)
            if name == "chroot":
                chrooted = chrooted or (ok and not started)
                if ok:
                    cell[0] = "/"
                continue
            if not chrooted:
                continue
            if name == "execve" and not started:
                started = True
                launcher = pid  # the chroot program, until its exec succeeds
            if started and pid == launcher and name == "execve" and ok:
                launcher = None
            result = "ok" if ok else r["errno"] or None
            path = self.path_of(r, cell)
            if name == "chdir" and ok and path:
                try:
                    cell[0] = realpath_in(self.host_root, path)
                except OSError:
                    cell[0] = path
            elif name == "fchdir" and ok and path:
                cell[0] = path
            if not started or path == "" or r["ret"] == "?":
                continue
            if pid == launcher and name != "execve":
                continue  # the chroot program's own, after its exec failed

            if path is None:
                self.problems.append(r["line"])
                continue
            self.events.append({"pid": pid, "call": name, "path": path, "result": result,
                                "line": r["line"]})
        return self

    def path_of(self, r, cell):
        """The call's path inside the root; "" for an fd-and-empty-path call
        (may be omitted); None if not understood."""
        name, args = r["name"], r["args"]
        if name in DIRFD_CALLS and re.match(r'^[^"]*, "",', args):
            return ""  # an fd and an empty path (AT_EMPTY_PATH): may be omitted
        if name in FD_CALLS:
            m = _FD.match(args)
            return self.inside(m[2]) if m and m[2] is not None else None
        base = cell[0]
        if name in DIRFD_CALLS:
            m = _FD.match(args)
            if not m:
                return None
            if m[2] is not None:
                base = self.inside(m[2])
                if base is None:
                    return None
                if m[1] == "AT_FDCWD":
                    cell[0] = base  # the kernel's own cwd, as strace read it
            elif m[1] != "AT_FDCWD":
                return None
            args = args[m.end():].removeprefix(", ")
        elif name not in PATH_CALLS:
            return None
        s = _STR.match(args)
        if not s or s[2]:
            return None
        path = strace_unescape(s[1])
        if path == "":
            return ""
        return join(base, path)


def run_oracle(c, label, oracle_root, argv, work, wrap=()):
    """strace -f the fixture chrooted in oracle_root. Returns (exit status,
    Oracle, stdout) or None."""
    log = os.path.join(work, "logs", f"strace-{label}.txt")
    cmd = ["strace", "-f", "-qq", "-y", "-s", "65535", "-o", log,
           "-e", "trace=" + ",".join(CALLS + ["chroot", "clone", "clone3", "fork", "vfork"]),
           *wrap, shutil.which("chroot"), oracle_root, *argv]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=ENV,
                           stdin=subprocess.DEVNULL, cwd="/")
    except subprocess.TimeoutExpired:
        c.fail(f"{label}: the strace oracle run", "timed out after 60 s")
        return None
    o = Oracle(oracle_root).parse(log)
    if not o.events or o.problems:
        c.fail(f"{label}: the strace oracle's log is understood",
               f"{len(o.events)} events; not understood:\n    " + "\n    ".join(o.problems[:10]))
        return None
    return p.returncode, o, p.stdout


# ---------------------------------------------------------------- the tracer

class Trace:
    def __init__(self):
        self.header = []
        self.footer = None  # ("exit", N) or ("timeout", S)
        self.events = []  # (pid, call, result, path)
        self.errors = []


_TRACE_LINE = re.compile(r"^(\d+) (\S+) (ok|E[A-Z0-9]+) (.*)$", re.S)


def parse_trace(path):
    t = Trace()
    with open(path, "rb") as f:
        lines = f.read().decode("utf-8", "surrogateescape").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    else:
        t.errors.append("the file does not end with a newline")
    for n, line in enumerate(lines, 1):
        if line.startswith("#"):
            t.header.append(line)
            m = re.match(r"^# (exit|timeout): (\S+)$", line)
            if m:
                if t.footer is not None:
                    t.errors.append(f"line {n}: a second footer: {line!r}")
                t.footer = (m[1], m[2])
            continue
        if t.footer is not None:
            t.errors.append(f"line {n}: an event after the footer: {line!r}")
        m = _TRACE_LINE.match(line)
        if not m:
            t.errors.append(f"line {n}: not PID CALL RESULT PATH: {line!r}")
            continue
        pid, call, result, raw = int(m[1]), m[2], m[3], m[4]
        p = trace_unescape(raw)
        if call not in TRACE_CALLS:
            t.errors.append(f"line {n}: unknown call {call!r}")
        if p is None:
            t.errors.append(f"line {n}: an invalid escape in {raw!r}")
            continue
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
            t.errors.append(f"line {n}: an unescaped control byte in {raw!r}")
        if not p.startswith("/") or normalize(p) != p:
            t.errors.append(f"line {n}: not an absolute normalized path: {raw!r}")
        t.events.append((pid, call, result, p))
    return t


def sandbox_env(tmp):
    env = dict(os.environ)
    env["TMPDIR"] = tmp
    return env


def run_trace(a, label, root, argv, opts=(), timeout=60, stdin_text="not for the command\n"):
    """elfprune trace ROOT -o FILE OPTS -- ARGV. Returns (CompletedProcess,
    seconds, trace file path)."""
    out = os.path.join(a.work, "traces", f"{label}.trace")
    cmd = [a.elfprune, "trace", root, "-o", out, *opts, "--", *argv]
    print(f"$ {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, errors="replace", env=sandbox_env(a.sandbox_tmp))
    try:
        stdout, stderr = proc.communicate(stdin_text, timeout=timeout)
        p = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    except subprocess.TimeoutExpired:
        # A hung tracer: kill it and whatever of the command still holds
        # its output open, so that the test goes on.
        proc.kill()
        for pid in processes_with(None, a.sandbox_tmp + "/"):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            stdout, stderr = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            stdout, stderr = "", ""
        p = subprocess.CompletedProcess(cmd, -1, stdout or "", f"timed out after {timeout} s\n{stderr or ''}")
    took = time.monotonic() - start
    print(f"  exit {p.returncode} in {took:.1f} s")
    for line in p.stderr.splitlines()[:20]:
        print(f"  ! {line}")
    return p, took, out


def load_trace(c, label, path):
    if not os.path.exists(path):
        c.fail(f"{label}: the trace file is written", f"{path} does not exist")
        return None
    return parse_trace(path)


def check_format(c, label, t, root, argv):
    errs = list(t.errors)
    want = ["# elfprune trace 1", f"# root: {os.path.abspath(root)}", f"# command: {' '.join(argv)}"]
    if t.header[:3] != want:
        errs.append(f"header {t.header[:3]!r}, expected {want!r}")
    if t.footer is None:
        errs.append("no `# exit:` or `# timeout:` footer")
    c.check(not errs, f"{label}: the trace file is well formed ({len(t.events)} events)",
            "\n    ".join(errs[:15]))


def check_exit(c, label, p, t, status, took=None):
    ok = p.returncode == status and t is not None and t.footer == ("exit", str(status))
    c.check(ok, f"{label}: exits {status}, footer `# exit: {status}`",
            f"exit {p.returncode}, footer {t.footer if t else None}"
            + (f", {took:.1f} s" if took is not None else ""))


def show_trace_lines(t, path, limit=4):
    lines = [f"{pid} {call} {res} {trace_escape(p)}" for pid, call, res, p in t.events if p == path]
    if not lines:
        return "trace: nothing for this path"
    return "trace: " + "; ".join(lines[:limit]) + (" ..." if len(lines) > limit else "")


def compare(c, label, oracle, t, exclude=()):
    """Every path / (call, path) / (call, path, result) strace saw is in the
    trace."""
    events = [e for e in oracle.events if not under_kernel_fs(e["path"]) and e["path"] not in exclude]
    paths = {p for _, _, _, p in t.events}
    pairs = {(call, p) for _, call, _, p in t.events}
    triples = {(call, res, p) for _, call, res, p in t.events}

    def report(missing):
        out = []
        for e in missing[:25]:
            out.append(f"{trace_escape(e['path'])}\n      strace: {e['line'][:300]}\n      "
                       f"{show_trace_lines(t, e['path'])}")
        if len(missing) > 25:
            out.append(f"... and {len(missing) - 25} more")
        return "\n    ".join(out)

    def firsts(keyed):
        seen, out = set(), []
        for k, e in keyed:
            if k not in seen:
                seen.add(k)
                out.append(e)
        return out

    want_paths = {e["path"] for e in events}
    missing = firsts(((e["path"],), e) for e in events if e["path"] not in paths)
    c.check(not missing, f"{label}: every path strace saw is in the trace ({len(want_paths)} paths)",
            f"{len(missing)} missing:\n    " + report(missing) if missing else "")
    missing = firsts(((e["call"], e["path"]), e) for e in events
                     if e["path"] in paths and (e["call"], e["path"]) not in pairs)
    c.check(not missing, f"{label}: every (call, path) strace saw is in the trace with that call",
            f"{len(missing)} missing:\n    " + report(missing) if missing else "")
    missing = firsts(((e["call"], e["result"], e["path"]), e) for e in events
                     if (e["call"], e["path"]) in pairs
                     and (e["call"], e["result"], e["path"]) not in triples)
    c.check(not missing, f"{label}: every (call, path, result) strace saw is in the trace with that result",
            f"{len(missing)} missing:\n    " + report(missing) if missing else "")
    extra = sorted({p for _, call, _, p in t.events if call not in ("exe", "interp")}
                   - {e["path"] for e in oracle.events})
    if extra:
        print(f"  note: {len(extra)} paths in the trace that strace did not see: "
              + ", ".join(trace_escape(p) for p in extra[:10]))




def check_exec_lines(c, label, root, t):
    """Each successful execve/execveat is followed by an `exe` line of its
    PID naming what the kernel ran, and an `interp` line for a dynamic
    program."""
    problems = []
    for i, (pid, call, res, path) in enumerate(t.events):
        if call not in ("execve", "execveat") or res != "ok":
            continue
        # What the kernel runs: the script's interpreter, recursively.
        prog = path
        for _ in range(5):
            interp = shebang_interpreter(os.path.join(root, realpath_in(root, prog).lstrip("/")))
            if not interp:
                break
            prog = interp
        real = realpath_in(root, prog)
        later = [(call2, p2) for pid2, call2, res2, p2 in t.events[i + 1:] if pid2 == pid]
        # Up to the next exec of that PID.
        upto = []
        for call2, p2 in later:
            if call2 in ("execve", "execveat"):
                break
            upto.append((call2, p2))
        exes = [p2 for call2, p2 in upto if call2 == "exe"]
        if not exes:
            problems.append(f"{pid} execve {trace_escape(path)}: no `exe` line after it")
        elif exes[0] not in (real, prog):
            problems.append(f"{pid} execve {trace_escape(path)}: exe {exes[0]}, expected {real}")
        want_interp = elf_interpreter(os.path.join(root, real.lstrip("/")))
        if want_interp:
            interps = [p2 for call2, p2 in upto if call2 == "interp"]
            expect = {want_interp, realpath_in(root, want_interp)}
            if not expect & set(interps):
                problems.append(f"{pid} execve {trace_escape(path)}: interp lines {interps}, "
                                f"expected {realpath_in(root, want_interp)}")
    n = sum(1 for _, call, res, _ in t.events if call in ("execve", "execveat") and res == "ok")
    c.check(not problems and n > 0,
            f"{label}: each of the {n} successful execs has its exe (and interp) line",
            "\n    ".join(problems[:10]) if problems else ("no successful exec in the trace" if n == 0 else ""))


# ---------------------------------------------------------------- leftovers

def processes_with(token, exe_part):
    """PIDs whose command line has token, or whose exe link has exe_part."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmdline = f.read()
            if token and token.encode() in cmdline:
                found.append(int(d))
                continue
            if exe_part and exe_part in os.readlink(f"/proc/{d}/exe"):
                found.append(int(d))
        except OSError:
            continue
    return found


def sandbox_mounts():
    with open("/proc/self/mountinfo") as f:
        return [line.strip() for line in f if "elfprune-sandbox" in line]


def check_leftovers(c, label, a, token):
    time.sleep(1)
    left = processes_with(token, a.sandbox_tmp + "/")
    c.check(not left, f"{label}: no process of the command is left", f"pids {left}")
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    mounts = sandbox_mounts()
    dirs = os.listdir(a.sandbox_tmp)
    c.check(not mounts and not dirs, f"{label}: no sandbox mount or directory is left",
            f"mounts {mounts[:3]}, in {a.sandbox_tmp}: {dirs}")


def kill_token(token):
    for pid in processes_with(token, None):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# ---------------------------------------------------------------- the runs

def oracle_case(c, a, label, argv, expect_status=0, wrap=(), exclude=(), opts=()):
    """Run argv under strace and under elfprune trace; compare. Returns
    (oracle, trace, CompletedProcess, seconds) or None."""
    r = run_oracle(c, label, a.oracle_root, argv, a.work, wrap)
    if r is None:
        return None
    status, oracle, _ = r
    print(f"  oracle: exit {status}, {len(oracle.events)} events")
    if not wrap:
        c.check(status == expect_status, f"{label}: the fixture exits {expect_status} under strace",
                f"exit {status}")
    p, took, out = run_trace(a, label, a.root, argv, opts)
    if p.returncode == 2 and expect_status == 127 and not os.path.exists(out):
        # A command that cannot start may be an error (exit 2) with no trace.
        print("  note: exit 2 and no trace file: the command not found is an error")
        return oracle, None, p, took
    t = load_trace(c, label, out)
    if t is None:
        return None
    check_format(c, label, t, a.root, argv)
    compare(c, label, oracle, t, exclude)
    return oracle, t, p, took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elfprune", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    need_root(NAME)
    need_tools(NAME, "gcc", "strace", "chroot", "timeout")
    a.elfprune = os.path.abspath(a.elfprune)
    c = Checks(NAME)
    started = time.monotonic()
    work = a.work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    for d in ("logs", "traces", "sandbox-tmp"):
        os.makedirs(os.path.join(work, d))
    a.sandbox_tmp = os.path.join(work, "sandbox-tmp")

    h = sh([a.elfprune, "trace", "--help"])
    if not c.check(h.returncode == 0 and "--timeout" in h.stdout,
                   "elfprune has a trace subcommand (trace --help names --timeout)",
                   f"exit {h.returncode}: {(h.stdout + h.stderr)[:300]}"):
        return finish(c, work)

    bins = build_programs(c, work)
    if bins is None:
        return finish(c, work)
    a.root = make_root(work, bins)
    # strace runs chrooted on the host, writing into its root (/tmp): a copy.
    a.oracle_root = os.path.join(work, "oracle-root")
    subprocess.run(["cp", "-a", a.root, a.oracle_root], check=True)
    before = fingerprint(a.root)
    print(f"fixture root {a.root}: {before[0]} entries; built in {time.monotonic() - started:.1f} s")

    # 1-5: plain fixtures.
    for label, argv in (("dirfd", ["/usr/bin/dirfd"]), ("symlinks", ["/usr/bin/symlinks"]),
                        ("threads", ["/usr/bin/threads"]), ("vfork", ["/usr/bin/vfork"]),
                        ("scripts", ["/usr/bin/scripts"]), ("iscript", ["/usr/bin/iscript", "direct"])):
        r = oracle_case(c, a, label, argv)
        if r is None:
            continue
        oracle, t, p, took = r
        check_exit(c, label, p, t, 0, took)
        check_exec_lines(c, label, a.root, t)
        if label == "threads":
            got = {}
            for line in p.stdout.splitlines():
                m = re.match(r"^T (\d+) (\d+)$", line)
                if m:
                    got[int(m[2])] = int(m[1])
            bad = []
            for i in range(4):
                pids = {pid for pid, _, _, path in t.events if path == f"/data/thread/missing-{i}"}
                if i not in got or pids != {got[i]}:
                    bad.append(f"thread {i}: gettid() {got.get(i)}, trace PIDs {sorted(pids)}")
            c.check(not bad and len(set(got.values())) == 4,
                    "threads: each thread's lines carry the thread id it sees (4 distinct)",
                    "; ".join(bad) or f"tids {got}")
        if label == "scripts":
            c.check("has-rel" in p.stdout, "scripts: the dash script ran (stdout passed through)",
                    f"stdout {p.stdout[:200]!r}")

    # 6. A daemon: the trace ends when the first process exits.
    token = f"daemon-{os.getpid()}"
    r = oracle_case(c, a, "daemonize", ["/usr/bin/daemonize", token],
                    exclude={"/data/daemon-late"})
    kill_token(token)
    if r is not None:
        oracle, t, p, took = r
        check_exit(c, "daemonize", p, t, 0, took)
        c.check(any(e["path"] == "/data/daemon-late" for e in oracle.events),
                "daemonize: under strace the daemon's late open is seen (it outlives its parent)")
        late = [e for e in t.events if e[3] == "/data/daemon-late"]
        c.check(not late and took < 3.0,
                "daemonize: the trace ends when the parent exits: before the daemon's late open (3 s)",
                f"{took:.1f} s, late lines {late}")
        check_leftovers(c, "daemonize", a, token)

    # 7. The timeout.
    token = f"sleeper-{os.getpid()}"
    r = run_oracle(c, "timeout", a.oracle_root, ["/usr/bin/sleeper", token + "-oracle"], a.work,
                   wrap=["timeout", "2"])
    kill_token(token + "-oracle")
    argv = ["/usr/bin/sleeper", token]
    p, took, out = run_trace(a, "timeout", a.root, argv, ["--timeout", "2"])
    t = load_trace(c, "timeout", out)
    c.check(p.returncode == 124 and took < 15, "timeout: --timeout 2 exits 124 within seconds",
            f"exit {p.returncode} in {took:.1f} s")
    if t is not None:
        check_format(c, "timeout", t, a.root, argv)
        c.check(t.footer is not None and t.footer[0] == "timeout",
                "timeout: the trace ends with `# timeout:`", f"footer {t.footer}")
        if r is not None:
            compare(c, "timeout", r[1], t)
    check_leftovers(c, "timeout", a, token)

    # Exit statuses.
    for mode, status in (("exit3", 3), ("kill", 128 + signal.SIGKILL), ("segv", 128 + signal.SIGSEGV)):
        argv = ["/usr/bin/status", mode]
        p, took, out = run_trace(a, f"status-{mode}", a.root, argv)
        t = load_trace(c, f"status-{mode}", out)
        if t is not None:
            check_format(c, f"status-{mode}", t, a.root, argv)
            check_exit(c, f"status {mode}", p, t, status)
            c.check(("openat", "ok", "/data/rel/file") in {e[1:] for e in t.events},
                    f"status {mode}: the open before the end is in the trace")

    # --workdir, --env, stdin, stdout, stderr, PIDs.
    argv = ["/usr/bin/envdump"]
    p, took, out = run_trace(a, "envdump", a.root, argv, ["--workdir", "/data", "--env", "FOO=bar baz"])
    t = load_trace(c, "envdump", out)
    if t is not None:
        check_format(c, "envdump", t, a.root, argv)
        check_exit(c, "envdump", p, t, 0)
        lines = p.stdout.splitlines()
        env = sorted(x[4:] for x in lines if x.startswith("env "))
        keys = sorted(x.split("=", 1)[0] for x in env)
        c.check(keys == ["FOO", "HOME", "LANG", "PATH"] and "HOME=/root" in env and "LANG=C.UTF-8" in env
                and "FOO=bar baz" in env, "envdump: the environment is PATH, HOME=/root, LANG=C.UTF-8 and --env",
                f"{env}")
        c.check(f"uring -1 {errno.ENOSYS}" in lines,
                "envdump: io_uring_setup fails with ENOSYS for the traced command",
                f"{[x for x in lines if x.startswith('uring')]}")
        c.check("stdin 0" in lines, "envdump: stdin is /dev/null (not elfprune's stdin)",
                f"{[x for x in lines if x.startswith('stdin')]}")
        c.check("cwd /data" in lines, "envdump: --workdir /data is the working directory",
                f"{[x for x in lines if x.startswith('cwd')]}")
        c.check("to-stderr" in p.stderr, "envdump: the command's stderr is elfprune's", p.stderr[:200])
        pid = next((int(x[4:]) for x in lines if x.startswith("pid ")), None)
        rel = [e for e in t.events if e[3] == "/data/rel/file"]
        c.check(bool(rel) and all(e[0] == pid and e[2] == "ok" for e in rel),
                "envdump: `rel/file` in --workdir /data is /data/rel/file, under the PID getpid() gives",
                f"getpid {pid}, lines {rel}")

    # Names through /proc/PID/{root,cwd,fd/N} and openat2's RESOLVE_IN_ROOT:
    # the files they reach in the root (strace shows only the names).
    p, took, out = run_trace(a, "procpaths", a.root, ["/usr/bin/procpaths"])
    t = load_trace(c, "procpaths", out)
    if t is not None:
        check_exit(c, "procpaths", p, t, 0)
        got = {(e[1], e[3]) for e in t.events if e[2] == "ok"}
        want = {("openat", "/data/rel/file"), ("openat", "/data/sub/file"),
                ("openat", "/data/sub/other"), ("openat2", "/data/thread/main")}
        c.check(want <= got, "procpaths: /proc/self/root, cwd and fd/N names and RESOLVE_IN_ROOT "
                "are traced as the files they reach", f"missing {sorted(want - got)}")

    # --env replaces a default of the same name; a root without /proc and
    # /dev (made in the sandbox's upper layer: the tracer needs /proc for
    # cwds and fds, every command /dev/null) traces as well.
    bare = os.path.join(a.work, "root-bare")
    shutil.rmtree(bare, ignore_errors=True)
    subprocess.run(["cp", "-a", a.root, bare], check=True)
    for d in ("proc", "dev"):
        shutil.rmtree(os.path.join(bare, d), ignore_errors=True)
    for label, root, opts, home in (("env-home", a.root, ["--env", "HOME=/data"], "HOME=/data"),
                                    ("bare-root", bare, [], "HOME=/root")):
        p, took, out = run_trace(a, label, root, argv, ["--workdir", "/data", *opts])
        t = load_trace(c, label, out)
        if t is None:
            continue
        check_exit(c, label, p, t, 0)
        lines = p.stdout.splitlines()
        env = [x[4:] for x in lines if x.startswith("env ")]
        c.check(home in env and sum(x.startswith("HOME=") for x in env) == 1,
                f"{label}: {home}, once", f"{env}")
        rel = [e for e in t.events if e[3] == "/data/rel/file"]
        c.check(bool(rel) and "stdin 0" in lines,
                f"{label}: `rel/file` traced as /data/rel/file, stdin is /dev/null",
                f"lines {rel}, {[x for x in lines if x.startswith('stdin')]}")
    c.check(not os.path.exists(os.path.join(bare, "proc")) and not os.path.exists(os.path.join(bare, "dev")),
            "bare-root: the root still has no /proc and no /dev")
    shutil.rmtree(bare, ignore_errors=True)

    # A command missing in ROOT, by path and on PATH: strace sees the
    # failing execve (each PATH directory's), and so must the trace.
    for label, cmd in (("missing-path", "/usr/bin/nope"), ("missing-name", "nope")):
        r = oracle_case(c, a, label, [cmd], expect_status=127)
        if r is None:
            continue
        oracle, t, p, took = r
        if t is not None:
            check_exit(c, label, p, t, 127, took)
        c.check(p.returncode in (2, 127) and re.search(r"not found|no such file", p.stderr, re.I),
                f"{label}: a command missing in ROOT ({cmd}) fails saying it is not found",
                f"exit {p.returncode}, stderr {p.stderr.strip()[:300]!r}")

    # A missing ROOT.
    p, took, out = run_trace(a, "no-root", os.path.join(work, "no-such-root"), ["/usr/bin/status"])
    c.check(p.returncode == 2 and p.stderr.startswith("elfprune: error:"),
            "a missing ROOT: exit 2, `elfprune: error: ...`", f"exit {p.returncode}, {p.stderr.strip()[:200]!r}")

    after = fingerprint(a.root)
    c.check(after == before, "ROOT is unchanged after every run (entries and metadata)",
            f"{before} -> {after}")
    c.check(not sandbox_mounts() and not os.listdir(a.sandbox_tmp),
            "no sandbox mount or directory is left at the end")
    print(f"{NAME}: {time.monotonic() - started:.1f} s")
    return finish(c, work)


if __name__ == "__main__":
    sys.exit(main())
