// The sandbox: three processes. The first (A) unshares a mount and a PID
// namespace and builds the overlay; its child (B) is PID 1 of the new
// namespace, mounts /proc and /dev, chroots and starts the command (C);
// when C exits, B exits, and the kernel kills whatever C left behind (a
// daemon) with it. Everything the children need is prepared before fork():
// the caller may have threads, so the children only make system calls.
#include "trace/sandbox.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "trace/tracer.hpp"
#include "util/fd.hpp"
#include "util/path.hpp"
#include "util/remove_tree.hpp"

namespace elfprune {
namespace {

constexpr std::size_t kOutputTail = 8192;  // bytes of output kept
const char* const kDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};

// Writes "MESSAGE: errno text\n" to `fd` and exits: only system calls.
[[noreturn]] void die(int fd, const char* message, int err, int code) {
  (void)!::write(fd, message, std::strlen(message));
  (void)!::write(fd, ": ", 2);
  const char* text = ::strerrordesc_np(err);
  if (text != nullptr) (void)!::write(fd, text, std::strlen(text));
  (void)!::write(fd, "\n", 1);
  ::_exit(code);
}

// What the children do, worked out in the parent.
struct Plan {
  std::string base, upper, work, merged;
  std::string overlay_options;
  // Whiteouts: the upper-layer directories to make first (with the lower
  // layer's mode and owner), then the character devices 0/0.
  struct Dir {
    std::string upper, lower;
  };
  std::vector<Dir> dirs;
  std::vector<std::string> whiteouts;
  std::string proc, dev;
  std::vector<std::pair<std::string, std::string>> device_binds;  // host /dev/X -> merged/dev/X
  std::string workdir;
  std::vector<std::string> argv, env;
  std::vector<std::string> path_dirs;  // PATH inside, for argv[0] without a slash
  std::string not_found;               // "cannot run X: not found on PATH"
  bool pass_output = false;
  int trace_fd = -1;
};

// "P<pid>\n": the namespace's init, for the parent to kill at the timeout.
void write_pid(int fd, pid_t pid) {
  char digits[16];
  int d = 0;
  for (unsigned v = static_cast<unsigned>(pid); v > 0 || d == 0; v /= 10) {
    digits[d++] = static_cast<char>('0' + v % 10);
  }
  char buf[20];
  int n = 0;
  buf[n++] = 'P';
  while (d > 0) buf[n++] = digits[--d];
  buf[n++] = '\n';
  (void)!::write(fd, buf, static_cast<std::size_t>(n));
}

[[noreturn]] void run_command(const Plan& p, int out_fd, int status_fd,
                              const std::vector<char*>& argv, const std::vector<char*>& envp) {
  if (out_fd >= 0) {
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
    ::close(out_fd);
  }
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) ::dup2(null, 0);
  if (::chdir(p.workdir.c_str()) != 0)
    die(status_fd, "X cannot enter the working directory", errno, 127);
  // Traced from here: the command's own calls, from its exec (and the PATH
  // lookup before it) on.
  if (p.trace_fd >= 0) {
    if (const int err = become_traced(); err != 0)
      die(status_fd, "E cannot trace the command", err, 126);
  }
  if (p.argv[0].find('/') != std::string::npos) {
    ::execve(argv[0], argv.data(), envp.data());
    die(status_fd, "X cannot run the command", errno, 127);
  }
  int err = ENOENT;
  for (const auto& dir : p.path_dirs) {
    // Precomputed "DIR/NAME" strings would cost an allocation per element
    // before fork; a stack buffer does instead.
    char full[4096];
    const std::size_t n = dir.size() + 1 + p.argv[0].size();
    if (n + 1 > sizeof full) continue;
    std::memcpy(full, dir.data(), dir.size());
    full[dir.size()] = '/';
    std::memcpy(full + dir.size() + 1, p.argv[0].data(), p.argv[0].size());
    full[n] = '\0';
    ::execve(full, argv.data(), envp.data());
    if (errno != ENOENT && errno != ENOTDIR) err = errno;
  }
  die(status_fd, p.not_found.c_str(), err, 127);
}

// PID 1 of the new namespace.
[[noreturn]] void namespace_init(const Plan& p, int out_fd, int status_fd,
                                 const std::vector<char*>& argv, const std::vector<char*>& envp) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!p.proc.empty()) ::mkdir(p.proc.c_str(), 0555);  // (in the upper layer, when missing)
  if (!p.dev.empty()) ::mkdir(p.dev.c_str(), 0755);
  if (!p.proc.empty() &&
      ::mount("proc", p.proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    die(status_fd, "E cannot mount /proc in the sandbox", errno, 126);
  }
  if (!p.dev.empty()) {
    if (::mount("tmpfs", p.dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") != 0) {
      die(status_fd, "E cannot mount /dev in the sandbox", errno, 126);
    }
    for (const auto& [host, inside] : p.device_binds) {
      const int fd = ::open(inside.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
      if (fd >= 0) ::close(fd);
      ::mount(host.c_str(), inside.c_str(), nullptr, MS_BIND, nullptr);  // best effort
    }
  }
  if (::chroot(p.merged.c_str()) != 0 || ::chdir("/") != 0) {
    die(status_fd, "E cannot chroot into the sandbox", errno, 126);
  }
  const pid_t child = ::fork();
  if (child < 0) die(status_fd, "E cannot fork", errno, 126);
  if (child == 0) run_command(p, out_fd, status_fd, argv, envp);
  if (out_fd >= 0) ::close(out_fd);
  // Leaving kills everything else in the namespace.
  if (p.trace_fd >= 0) ::_exit(trace_processes(child, p.trace_fd));
  for (;;) {
    int st = 0;
    const pid_t got = ::waitpid(-1, &st, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) ::_exit(126);
    if (got != child) continue;  // an orphan reparented to us: reaped
    // Leaving kills everything else in the namespace.
    ::_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  }
}

// The first child: the namespaces and the overlay.
[[noreturn]] void sandbox_main(const Plan& p, int out_fd, int status_fd,
                               const std::vector<char*>& argv, const std::vector<char*>& envp) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::unshare(CLONE_NEWNS | CLONE_NEWPID) != 0) {
    die(status_fd, "E cannot make mount and PID namespaces (root is needed)", errno, 126);
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    die(status_fd, "E cannot make the mounts private", errno, 126);
  }
  if (::mount("tmpfs", p.base.c_str(), "tmpfs", 0, "mode=0700") != 0) {
    die(status_fd, "E cannot mount the upper layer's tmpfs", errno, 126);
  }
  for (const std::string* d : {&p.upper, &p.work, &p.merged}) {
    if (::mkdir(d->c_str(), 0755) != 0)
      die(status_fd, "E cannot make the overlay's directories", errno, 126);
  }
  for (const auto& d : p.dirs) {
    struct stat st {};
    if (::mkdir(d.upper.c_str(), 0755) != 0 && errno != EEXIST) continue;
    if (::stat(d.lower.c_str(), &st) == 0) {
      ::chmod(d.upper.c_str(), st.st_mode & 07777);
      ::chown(d.upper.c_str(), st.st_uid, st.st_gid);
    }
  }
  for (const auto& w : p.whiteouts) {
    if (::mknod(w.c_str(), S_IFCHR | 0000, ::makedev(0, 0)) != 0) {
      die(status_fd, "E cannot hide a removed path in the overlay", errno, 126);
    }
  }
  if (::mount("overlay", p.merged.c_str(), "overlay", 0, p.overlay_options.c_str()) != 0) {
    die(status_fd, "E cannot mount the overlay on the tree", errno, 126);
  }
  const pid_t init = ::fork();
  if (init < 0) die(status_fd, "E cannot fork", errno, 126);
  if (init == 0) namespace_init(p, out_fd, status_fd, argv, envp);
  if (out_fd >= 0) ::close(out_fd);
  write_pid(status_fd, init);
  for (;;) {
    int st = 0;
    const pid_t got = ::waitpid(init, &st, 0);
    if (got < 0 && errno == EINTR) continue;
    ::_exit(got < 0 ? 126 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  }
}

bool overlay_safe(const std::string& path) {
  return path.find_first_of(",:\\") == std::string::npos;
}

}  // namespace

Result<SandboxRun> run_in_sandbox(const SandboxOptions& o) {
  if (o.argv.empty()) return make_error("--check", "an empty command", ErrorKind::Usage);
  std::error_code ec;
  const std::string tree = std::filesystem::absolute(o.tree, ec).lexically_normal().string();
  if (!overlay_safe(tree)) {
    return make_error(tree, "the sandbox's overlay cannot name a path with ',', ':' or '\\'");
  }
  const std::string tmp = [] {
    const char* t = std::getenv("TMPDIR");
    return std::string(t != nullptr && *t == '/' ? t : "/tmp");
  }();
  remove_stale(tmp, "elfprune-sandbox-");
  std::string base = temp_template(tmp, "elfprune-sandbox-");
  if (::mkdtemp(base.data()) == nullptr) {
    return make_error(tmp,
                      fmt::format("cannot make the sandbox's directory: {}", errno_text(errno)));
  }
  Plan p;
  p.base = base;
  p.upper = base + "/upper";
  p.work = base + "/work";
  p.merged = base + "/merged";
  p.overlay_options = fmt::format("lowerdir={},upperdir={},workdir={}", tree, p.upper, p.work);
  for (const auto& h : o.hidden) {
    const auto comps = path_components(h);
    std::string inside;
    for (std::size_t i = 0; i + 1 < comps.size(); ++i) {
      inside += "/" + comps[i];
      p.dirs.push_back({p.upper + inside, tree + inside});
    }
    if (!comps.empty()) p.whiteouts.push_back(p.upper + inside + "/" + comps.back());
  }
  // /proc and /dev: where the tree has a directory, or nothing (made in the
  // upper layer: the tracer needs /proc, every command /dev/null); not over
  // a file or a link the tree has there.
  struct stat st {};
  const auto usable = [&](const char* dir) {
    return ::lstat((tree + dir).c_str(), &st) == 0 ? S_ISDIR(st.st_mode) : errno == ENOENT;
  };
  if (usable("/proc")) p.proc = p.merged + "/proc";
  if (usable("/dev")) {
    p.dev = p.merged + "/dev";
    for (const char* d : kDevices) {
      p.device_binds.emplace_back(std::string("/dev/") + d, p.dev + "/" + d);
    }
  }
  p.workdir = o.workdir;
  p.argv = o.argv;
  p.pass_output = o.pass_output;
  p.trace_fd = o.trace_fd;
  std::string path_value = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : o.env) {
    if (e.rfind("PATH=", 0) == 0) path_value = e.substr(5);
  }
  // The defaults, each replaced by an --env of the same name.
  p.env = {"PATH=" + path_value, "HOME=/root", "LANG=C.UTF-8"};
  for (const auto& e : o.env) {
    const std::string key = e.substr(0, e.find('=') + 1);
    if (key == "PATH=") continue;
    auto same = std::find_if(p.env.begin(), p.env.end(),
                             [&](const std::string& d) { return d.rfind(key, 0) == 0; });
    if (same != p.env.end()) {
      *same = e;
    } else {
      p.env.push_back(e);
    }
  }
  for (std::size_t at = 0; at <= path_value.size();) {
    const auto colon = path_value.find(':', at);
    std::string dir =
        path_value.substr(at, colon == std::string::npos ? std::string::npos : colon - at);
    if (!dir.empty()) p.path_dirs.push_back(std::move(dir));
    if (colon == std::string::npos) break;
    at = colon + 1;
  }
  p.not_found =
      fmt::format("X cannot run {}: not found on PATH ({}) in the tree", o.argv[0], path_value);
  std::vector<char*> argv, envp;
  for (auto& a : p.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : p.env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2] = {-1, -1}, status_pipe[2];
  if ((!o.pass_output && ::pipe2(out_pipe, O_CLOEXEC) != 0) ||
      ::pipe2(status_pipe, O_CLOEXEC) != 0) {
    ::rmdir(base.c_str());
    return make_error(base, fmt::format("cannot make a pipe: {}", errno_text(errno)));
  }
  Fd out_read(out_pipe[0]), status_read(status_pipe[0]);
  // The command's end must survive exec: not close-on-exec in the children.
  if (out_pipe[1] >= 0) ::fcntl(out_pipe[1], F_SETFD, 0);
  const pid_t a = ::fork();
  if (a < 0) {
    if (out_pipe[1] >= 0) ::close(out_pipe[1]);
    ::close(status_pipe[1]);
    ::rmdir(base.c_str());
    return make_error(base, fmt::format("cannot fork: {}", errno_text(errno)));
  }
  if (a == 0) {
    out_read.reset();
    status_read.reset();
    sandbox_main(p, out_pipe[1], status_pipe[1], argv, envp);
  }
  if (out_pipe[1] >= 0) ::close(out_pipe[1]);
  ::close(status_pipe[1]);

  // Read the output until every writer is gone (the namespace died), and
  // kill the namespace's init at the deadline.
  SandboxRun run;
  std::string status_text;
  pid_t init = -1;
  const auto deadline = o.timeout_seconds == 0 ? std::chrono::steady_clock::time_point::max()
                                               : std::chrono::steady_clock::now() +
                                                     std::chrono::seconds(o.timeout_seconds);
  bool out_open = out_read.ok(), status_open = true;
  auto kill_at = std::chrono::steady_clock::time_point::max();  // a tracer's grace, then SIGKILL
  char buf[4096];
  while (out_open || status_open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 && !run.timed_out) {
      run.timed_out = true;
      // A tracer first writes what it holds (SIGTERM), then everything goes.
      if (o.trace_fd >= 0 && init > 0) {
        ::kill(init, SIGTERM);
        kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      } else {
        if (init > 0) ::kill(init, SIGKILL);
        ::kill(a, SIGKILL);  // if the namespace was not made yet
      }
    }
    if (std::chrono::steady_clock::now() >= kill_at) {
      kill_at = std::chrono::steady_clock::time_point::max();
      ::kill(init, SIGKILL);
      ::kill(a, SIGKILL);
    }
    pollfd fds[2] = {{out_open ? out_read.get() : -1, POLLIN, 0},
                     {status_open ? status_read.get() : -1, POLLIN, 0}};
    const int wait_ms = run.timed_out ? 1000 : static_cast<int>(std::min<long>(left.count(), 1000));
    if (::poll(fds, 2, wait_ms) < 0 && errno != EINTR) break;
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const long n = read_some(out_read.get(), buf, sizeof buf);
      if (n <= 0) {
        out_open = false;
      } else {
        run.output.append(buf, static_cast<std::size_t>(n));
        if (run.output.size() > 2 * kOutputTail)
          run.output.erase(0, run.output.size() - kOutputTail);
      }
    }
    if (status_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const long n = read_some(status_read.get(), buf, sizeof buf);
      if (n <= 0) {
        status_open = false;
      } else {
        status_text.append(buf, static_cast<std::size_t>(n));
        if (init < 0 && status_text.size() > 1 && status_text[0] == 'P') {
          if (auto nl = status_text.find('\n'); nl != std::string::npos) {
            init = static_cast<pid_t>(std::atol(status_text.c_str() + 1));
            status_text.erase(0, nl + 1);
            if (run.timed_out) ::kill(init, SIGKILL);
          }
        }
      }
    }
  }
  int wstatus = 0;
  while (::waitpid(a, &wstatus, 0) < 0 && errno == EINTR) {
  }
  ::rmdir(base.c_str());
  if (run.output.size() > kOutputTail) run.output.erase(0, run.output.size() - kOutputTail);
  run.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  // "E ..." is the sandbox failing; "X ..." the command not starting.
  for (std::size_t at = 0; at < status_text.size();) {
    const auto nl = status_text.find('\n', at);
    const std::string line =
        status_text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (line.rfind("E ", 0) == 0) return make_error(tree, line.substr(2));
    if (line.rfind("X ", 0) == 0) run.output += line.substr(2) + "\n";
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return run;
}

Result<std::vector<std::string>> split_command(std::string_view line, std::string_view what) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\\') {
      if (i + 1 < line.size()) word += line[++i];
      in_word = true;
    } else if (c == '\'' || c == '"') {
      // The closing quote; inside double quotes \" \\ \$ \` lose their
      // backslash (and \" does not close), inside single quotes nothing does.
      std::size_t k = i + 1;
      for (; k < line.size() && line[k] != c; ++k) {
        if (c == '"' && line[k] == '\\' && k + 1 < line.size() &&
            std::string_view("\"\\$`").find(line[k + 1]) != std::string_view::npos) {
          ++k;
        }
        word += line[k];
      }
      if (k >= line.size()) {
        return make_error(
            std::string(what),
            fmt::format("unterminated {} quote in '{}'", c == '\'' ? "single" : "double", line),
            ErrorKind::Usage);
      }
      i = k;
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(word));
  if (out.empty()) return make_error(std::string(what), "an empty command", ErrorKind::Usage);
  return out;
}

}  // namespace elfprune
