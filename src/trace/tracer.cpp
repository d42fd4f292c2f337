// How a traced call becomes a line: at the seccomp stop (the call's entry)
// the path argument is read from the tracee's memory and made absolute
// against its cwd or dirfd as they are at that moment; the tracee is then
// resumed to the call's exit, where the result is read and the line
// written. After a successful exec the program the kernel runs (/proc/PID/exe)
// and the other files it mapped (the ELF interpreter) are lines too: no
// system call of the tracee opens them.
#include "trace/tracer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "trace/trace_file.hpp"
#include "util/fd.hpp"
#include "util/path.hpp"

namespace elfprune {

#if defined(__x86_64__)

namespace {

// SECCOMP_RET_DATA of the filter's answers, read back with PTRACE_GETEVENTMSG.
constexpr unsigned kTraced = 1;
constexpr std::uint64_t kResolveInRoot = 0x10;  // RESOLVE_IN_ROOT, linux/openat2.h
constexpr unsigned kForeignAbi = 2;             // i386 or x32: numbers the tracer does not decode

// How a call names its path: its argument positions.
struct CallShape {
  long nr;
  const char* name;
  int dirfd_arg;            // -1: relative to the cwd
  int path_arg;             // -1: the path is the fd's (dirfd_arg)
  int flags_arg;            // where AT_EMPTY_PATH may be, -1: nowhere
  bool empty_path_skipped;  // fstat-like with AT_EMPTY_PATH: an open file, no new path
};

constexpr CallShape kCalls[] = {
    {SYS_open, "open", -1, 0, -1, false},
    {SYS_creat, "creat", -1, 0, -1, false},
    {SYS_openat, "openat", 0, 1, -1, false},
    {SYS_openat2, "openat2", 0, 1, -1, false},
    {SYS_execve, "execve", -1, 0, -1, false},
    {SYS_execveat, "execveat", 0, 1, 4, false},
    {SYS_stat, "stat", -1, 0, -1, false},
    {SYS_lstat, "lstat", -1, 0, -1, false},
    {SYS_newfstatat, "newfstatat", 0, 1, 3, true},
    {SYS_statx, "statx", 0, 1, 2, true},
    {SYS_access, "access", -1, 0, -1, false},
    {SYS_faccessat, "faccessat", 0, 1, -1, false},
    {SYS_faccessat2, "faccessat2", 0, 1, 3, false},
    {SYS_readlink, "readlink", -1, 0, -1, false},
    {SYS_readlinkat, "readlinkat", 0, 1, -1, false},
    {SYS_chdir, "chdir", -1, 0, -1, false},
    {SYS_fchdir, "fchdir", 0, -1, -1, false},
    {SYS_getdents64, "getdents64", 0, -1, -1, false},
    {SYS_getdents, "getdents", 0, -1, -1, false},
};

const CallShape* shape_of(long nr) {
  for (const auto& c : kCalls) {
    if (c.nr == nr) return &c;
  }
  return nullptr;
}

constexpr std::size_t kFilterSize = 8 + std::size(kCalls) + 2;

// Made at compile time: the child installs it after fork(), where only
// system calls are safe.
constexpr std::array<sock_filter, kFilterSize> make_filter() {
  std::array<sock_filter, kFilterSize> f{};
  std::size_t i = 0;
  const auto stmt = [&](unsigned short code, unsigned k) { f[i++] = sock_filter{code, 0, 0, k}; };
  const auto jump = [&](unsigned short code, unsigned k, unsigned char jt, unsigned char jf) {
    f[i++] = sock_filter{code, jt, jf, k};
  };
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRACE | kForeignAbi);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 0, 1);  // x32
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRACE | kForeignAbi);
  jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
  const std::size_t n = std::size(kCalls);
  for (std::size_t c = 0; c < n; ++c) {
    // A match jumps over the remaining tests and the ALLOW.
    jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(kCalls[c].nr),
         static_cast<unsigned char>(n - c), 0);
  }
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_TRACE | kTraced);
  return f;
}

constexpr std::array<sock_filter, kFilterSize> kFilter = make_filter();

// A NUL-terminated string of the tracee, read a page at most at a time
// (a read across into an unmapped page fails as a whole).
bool read_string(pid_t tid, unsigned long addr, std::string& out) {
  out.clear();
  char buf[4096];
  while (out.size() < 4096) {
    const std::size_t room = 4096 - (addr & 4095);
    iovec local{buf, room}, remote{reinterpret_cast<void*>(addr), room};
    const ssize_t n = ::process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (n <= 0) return false;
    const void* nul = std::memchr(buf, '\0', static_cast<std::size_t>(n));
    if (nul != nullptr) {
      out.append(buf, static_cast<std::size_t>(static_cast<const char*>(nul) - buf));
      return out.size() < 4096;
    }
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() >= 4096) break;
    addr += static_cast<unsigned long>(n);
  }
  return false;  // PATH_MAX or longer: the call fails with ENAMETOOLONG
}

// readlink of a /proc link of the tracee: its cwd, an fd, its exe.
bool proc_link(pid_t tid, const char* what, long fd, std::string& out) {
  char name[64];
  if (fd >= 0) {
    std::snprintf(name, sizeof name, "/proc/%d/fd/%ld", static_cast<int>(tid), fd);
  } else {
    std::snprintf(name, sizeof name, "/proc/%d/%s", static_cast<int>(tid), what);
  }
  char buf[4096];
  const ssize_t n = ::readlink(name, buf, sizeof buf);
  if (n <= 0 || n >= static_cast<ssize_t>(sizeof buf) || buf[0] != '/') return false;
  out.assign(buf, static_cast<std::size_t>(n));
  return true;
}

std::string result_text(long ret) {
  if (ret >= 0 || ret < -4095) return "ok";
  // ERESTARTSYS and its kin (512-516): the kernel restarts the call (a
  // line of its own follows) or the tracee sees EINTR.
  if (ret <= -512 && ret >= -516) return "EINTR";
  const int err = static_cast<int>(-ret);
  const char* name = ::strerrorname_np(err);
  return name != nullptr ? std::string(name) : fmt::format("E{}", err);
}

// Set by SIGTERM: the sandbox's parent asks for the trace to end (its
// timeout); the tracer writes what it holds before it is killed.
volatile sig_atomic_t g_stop = 0;

void on_stop(int) {
  g_stop = 1;
}

class Tracer {
 public:
  Tracer(pid_t child, int fd) : child_(child), fd_(fd) {}

  int run() {
    started_.insert(child_);
    for (;;) {
      int st = 0;
      pid_t tid = ::waitpid(-1, &st, __WALL | WNOHANG);
      if (tid == 0) {
        flush();
        tid = ::waitpid(-1, &st, __WALL);
      }
      if (tid < 0) {
        if (errno == EINTR && g_stop != 0) {
          flush();
          return 124;
        }
        if (errno == EINTR) continue;
        flush();
        return 126;  // no child left without ours exiting: cannot happen
      }
      if (WIFEXITED(st) || WIFSIGNALED(st)) {
        // A call it never returned from (blocked on a FIFO when the
        // process ended): its path was there.
        if (auto it = pending_.find(tid); it != pending_.end()) {
          line(tid, it->second.call->name, "EINTR", it->second.path);
          pending_.erase(it);
        }
        started_.erase(tid);
        if (tid == child_) {
          flush();
          return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        continue;
      }
      if (WIFSTOPPED(st)) stopped(tid, st);
    }
  }

 private:
  struct Pending {
    const CallShape* call = nullptr;
    std::string path;
  };

  pid_t child_;
  int fd_;
  std::string buffer_;
  std::unordered_map<pid_t, Pending> pending_;  // a call between its entry and exit
  std::unordered_set<pid_t> started_;           // past their first stop
  std::unordered_set<pid_t> warned_;            // told of foreign system calls

  void flush() {
    if (buffer_.empty()) return;
    (void)write_all(fd_, buffer_, "the trace");
    buffer_.clear();
  }

  void line(pid_t tid, std::string_view call, std::string_view result, std::string_view path) {
    buffer_ += format_trace_line(static_cast<int>(tid), call, result, path);
    if (buffer_.size() > (1 << 16)) flush();
  }

  static void resume(pid_t tid, int request, int sig = 0) {
    ::ptrace(static_cast<__ptrace_request>(request), tid, nullptr,
             reinterpret_cast<void*>(static_cast<long>(sig)));
  }

  void stopped(pid_t tid, int st) {
    const int sig = WSTOPSIG(st);
    const int event = st >> 16;
    if (sig == (SIGTRAP | 0x80)) {
      call_exit(tid);
      resume(tid, PTRACE_CONT);
      return;
    }
    if (sig == SIGTRAP && event == PTRACE_EVENT_SECCOMP) {
      unsigned long data = 0;
      ::ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &data);
      if (data == kTraced && call_entry(tid)) {
        resume(tid, PTRACE_SYSCALL);  // to the call's exit
      } else {
        if (data == kForeignAbi && warned_.insert(tid).second) {
          buffer_ += fmt::format(
              "# warning: {} made a 32-bit or x32 system call: those are not traced\n", tid);
        }
        resume(tid, PTRACE_CONT);
      }
      return;
    }
    if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
      unsigned long former = 0;
      ::ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &former);
      // A thread other than the leader that execs takes the leader's ID.
      const auto old_tid = static_cast<pid_t>(former);
      if (auto it = pending_.find(old_tid); it != pending_.end() && old_tid != tid) {
        Pending exec = std::move(it->second);
        pending_.erase(it);
        pending_[tid] = std::move(exec);
        started_.erase(old_tid);
      }
      exec_done(tid);
      resume(tid, PTRACE_CONT);
      return;
    }
    if (sig == SIGTRAP && (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
                           event == PTRACE_EVENT_CLONE)) {
      resume(tid, PTRACE_CONT);
      return;
    }
    if (started_.insert(tid).second && sig == SIGSTOP) {
      resume(tid, PTRACE_CONT);  // a new process's or thread's first stop
      return;
    }
    if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
      siginfo_t info;
      if (::ptrace(PTRACE_GETSIGINFO, tid, nullptr, &info) != 0) {
        resume(tid, PTRACE_CONT);  // a group stop: not kept (nothing would resume it)
        return;
      }
    }
    resume(tid, PTRACE_CONT, sig);  // a signal for the tracee: delivered
  }

  // The path the call names, absolute; false for a call not worth a line.
  bool call_entry(pid_t tid) {
    user_regs_struct regs{};
    if (::ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return false;
    const CallShape* call = shape_of(static_cast<long>(regs.orig_rax));
    if (call == nullptr) return false;
    const unsigned long long args[] = {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9};
    const long dirfd =
        call->dirfd_arg < 0 ? AT_FDCWD : static_cast<long>(static_cast<int>(args[call->dirfd_arg]));
    std::string name;
    if (call->path_arg >= 0 && !read_string(tid, args[call->path_arg], name)) return false;
    std::string path;
    const bool absolute = call->path_arg >= 0 && !name.empty() && name.front() == '/';
    if (absolute) {
      path = std::move(name);
    } else {
      if (call->path_arg >= 0 && name.empty()) {
        const bool empty_ok = call->flags_arg >= 0 && (args[call->flags_arg] & AT_EMPTY_PATH) != 0;
        if (!empty_ok || call->empty_path_skipped) return false;
      }
      std::string base;
      const bool found = dirfd == AT_FDCWD ? proc_link(tid, "cwd", -1, base)
                                           : dirfd >= 0 && proc_link(tid, nullptr, dirfd, base);
      // A pipe, a socket, a closed fd, a removed directory: no path in the root.
      if (!found || base.ends_with(" (deleted)")) return false;
      path = std::move(base);
      if (!name.empty()) {
        path += '/';
        path += name;
      }
    }
    // openat2's RESOLVE_IN_ROOT: an absolute name starts at the dirfd.
    if (call->nr == SYS_openat2 && absolute && dirfd != AT_FDCWD) {
      std::uint64_t how[3] = {};  // struct open_how: flags, mode, resolve
      iovec local{how, sizeof how}, remote{reinterpret_cast<void*>(args[2]), sizeof how};
      std::string base;
      if (::process_vm_readv(tid, &local, 1, &remote, 1, 0) == sizeof how &&
          (how[2] & kResolveInRoot) != 0 && proc_link(tid, nullptr, dirfd, base)) {
        path = base + path;
      }
    }
    pending_[tid] = Pending{call, tidy_trace_path(through_proc(tid, path))};
    return true;
  }

  // /proc/PID/root/X, /proc/self/cwd/X, /proc/thread-self/fd/N/X: the path
  // these links lead to, in the root (the tracer reads the same links).
  // Anything else under /proc is the kernel's.
  static std::string through_proc(pid_t tid, const std::string& path) {
    if (!path.starts_with("/proc/")) return path;
    const auto comps = path_components(path);
    if (comps.size() < 3) return path;
    const std::string& who = comps[1];
    const bool number = who.find_first_not_of("0123456789") == std::string::npos;
    if (!number && who != "self" && who != "thread-self") return path;
    const pid_t task = number ? static_cast<pid_t>(std::atol(who.c_str())) : tid;
    std::string base;
    std::size_t rest = 3;
    if (comps[2] == "root" || comps[2] == "cwd") {
      if (!proc_link(task, comps[2].c_str(), -1, base)) return path;
    } else if (comps[2] == "fd" && comps.size() >= 4 &&
               comps[3].find_first_not_of("0123456789") == std::string::npos) {
      if (!proc_link(task, nullptr, std::atol(comps[3].c_str()), base)) return path;
      rest = 4;
    } else {
      return path;
    }
    if (base.ends_with(" (deleted)")) return path;
    for (std::size_t i = rest; i < comps.size(); ++i) {
      if (base.size() > 1) base += '/';
      base += comps[i];
    }
    return base;
  }

  void call_exit(pid_t tid) {
    auto it = pending_.find(tid);
    if (it == pending_.end()) return;
    errno = 0;
    const long ret = ::ptrace(PTRACE_PEEKUSER, tid,
                              reinterpret_cast<void*>(offsetof(user_regs_struct, rax)), nullptr);
    if (errno == 0) line(tid, it->second.call->name, result_text(ret), it->second.path);
    pending_.erase(it);
  }

  // A script's #! interpreter, and its own if it is a script too (the
  // kernel follows a few levels): opened by the kernel, not by a call of
  // the tracee's. Read here, where the tracer's root is the tracee's.
  void script_interpreters(pid_t tid, std::string path) {
    for (int depth = 0; depth < 5; ++depth) {
      Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
      if (!fd.ok()) return;
      char head[256];
      const long n = read_some(fd.get(), head, sizeof head);
      if (n < 3 || head[0] != '#' || head[1] != '!') return;
      const std::string_view text(head + 2, static_cast<std::size_t>(n - 2));
      const auto start = text.find_first_not_of(" \t");
      if (start == std::string_view::npos || text[start] != '/') return;
      auto end = text.find_first_of(std::string_view(" \t\n\0", 4), start);
      if (end == std::string_view::npos) {
        // The whole file, without a newline: the name ends with it.
        if (static_cast<std::size_t>(n) == sizeof head) return;  // longer than the kernel reads
        end = text.size();
      }
      path = tidy_trace_path(text.substr(start, end - start));
      line(tid, "interp", "ok", path);
    }
  }

  // The exec succeeded: its line, then what the kernel loaded for it.
  void exec_done(pid_t tid) {
    if (auto it = pending_.find(tid); it != pending_.end()) {
      line(tid, it->second.call->name, "ok", it->second.path);
      script_interpreters(tid, it->second.path);
      pending_.erase(it);
    }
    std::string exe;
    if (proc_link(tid, "exe", -1, exe)) line(tid, "exe", "ok", exe);
    char name[64];
    std::snprintf(name, sizeof name, "/proc/%d/maps", static_cast<int>(tid));
    Fd maps(::open(name, O_RDONLY | O_CLOEXEC));
    if (!maps.ok()) return;
    auto text = read_all(maps.get(), 1 << 20, name);
    if (!text) return;
    std::unordered_set<std::string> seen{exe};
    for (std::size_t at = 0; at < text->size();) {
      auto nl = text->find('\n', at);
      if (nl == std::string::npos) nl = text->size();
      const std::string_view row(text->data() + at, nl - at);
      at = nl + 1;
      const auto slash = row.find('/');
      if (slash == std::string_view::npos) continue;  // [vdso], [stack], anonymous
      std::string path(row.substr(slash));
      if (path.ends_with(" (deleted)")) continue;
      if (seen.insert(path).second) line(tid, "interp", "ok", path);
    }
  }
};

}  // namespace

int become_traced() {
  if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) return errno;
  ::raise(SIGSTOP);  // the parent sets the options, then resumes us
  sock_fprog prog{static_cast<unsigned short>(kFilter.size()),
                  const_cast<sock_filter*>(kFilter.data())};
  // Root may install a filter without no_new_privs (which would change
  // what a setuid program in the workload does); others need it.
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    if (errno != EACCES) return errno;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return errno;
  }
  return 0;
}

int trace_processes(pid_t child, int trace_fd) {
  struct sigaction stop {};
  stop.sa_handler = on_stop;  // no SA_RESTART: the wait returns EINTR
  ::sigaction(SIGTERM, &stop, nullptr);
  int st = 0;
  // The child's first stop (raise(SIGSTOP) in become_traced).
  while (::waitpid(child, &st, __WALL) < 0) {
    if (errno != EINTR) return 126;
  }
  if (!WIFSTOPPED(st)) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  ::ptrace(PTRACE_SETOPTIONS, child, nullptr,
           reinterpret_cast<void*>(PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD |
                                   PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                                   PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL));
  ::ptrace(PTRACE_CONT, child, nullptr, nullptr);
  return Tracer(child, trace_fd).run();
}

#else

int become_traced() {
  return ENOSYS;
}
int trace_processes(pid_t child, int) {
  int st = 0;
  while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif

}  // namespace elfprune
