#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>

#include "commands.hpp"
#include "trace/sandbox.hpp"
#include "trace/trace_file.hpp"
#include "util/fd.hpp"

namespace elfprune::cli {

namespace {

// Exit status of a trace stopped at --timeout, as timeout(1)'s.
constexpr int kTimedOut = 124;

std::string quoted_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    const bool plain =
        !a.empty() && a.find_first_of(" \t\n'\"\\$`*?[]{}();&|<>~#") == std::string::npos;
    if (plain) {
      out += a;
    } else {
      out += '\'';
      for (const char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += '\'';
    }
  }
  return out;
}

// The event lines (not comments) of a trace file.
std::size_t count_events(const std::string& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  std::size_t events = 0;
  bool line_start = true, comment = false;
  char buf[1 << 16];
  for (long n; fd.ok() && (n = read_some(fd.get(), buf, sizeof buf)) > 0;) {
    for (long i = 0; i < n; ++i) {
      if (line_start) comment = buf[i] == '#';
      line_start = buf[i] == '\n';
      if (line_start && !comment) ++events;
    }
  }
  return events;
}

// Cut the file back to its last newline.
void drop_torn_line(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size == 0) return;
  off_t end = st.st_size;
  char buf[4096];
  while (end > 0) {
    const off_t from =
        end > static_cast<off_t>(sizeof buf) ? end - static_cast<off_t>(sizeof buf) : 0;
    const ssize_t n = ::pread(fd, buf, static_cast<std::size_t>(end - from), from);
    if (n <= 0) return;
    for (ssize_t i = n; i > 0; --i) {
      if (buf[i - 1] == '\n') {
        if (from + i != st.st_size) (void)!::ftruncate(fd, from + i);
        return;
      }
    }
    end = from;
  }
  (void)!::ftruncate(fd, 0);
}

}  // namespace

void add_trace_command(CLI::App& app, TraceOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "trace",
      "Run CMD chrooted in ROOT and record every file it and the processes it starts look "
      "at: opens, execs (with the program and interpreter the kernel loads), stats, access "
      "checks, readlinks, chdirs and directory listings, each with its path inside ROOT and "
      "its result, one line each in FILE (README.md, 'The trace file'). For `prune --trace`. "
      "CMD runs in new mount and PID namespaces on an overlay whose upper layer is a tmpfs, "
      "so ROOT is never changed; its environment is PATH, HOME and LANG plus --env; its "
      "standard input is /dev/null. The trace ends when CMD exits: what it left running is "
      "killed. Exit status: CMD's (128 + N when a signal N killed it), 124 at --timeout, 2 "
      "when the sandbox cannot be made or the usage is wrong.");
  cmd->add_option("ROOT", o.root, "The root filesystem to run CMD in")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--output", o.output, "Write the trace to FILE")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--timeout", o.timeout,
                  "Kill CMD, with everything it started, after S seconds (default: none); the "
                  "trace keeps what was recorded until then")
      ->type_name("S")
      ->check(CLI::Range(1u, 604800u));
  repeatable(cmd->add_option("--env", o.env, "Set K=V in CMD's environment (repeatable)"), "K=V")
      ->check([](const std::string& kv) -> std::string {
        return kv.find('=') == std::string::npos || kv.front() == '=' ? "expected K=V" : "";
      });
  cmd->add_option("--workdir", o.workdir, "The directory inside ROOT CMD starts in (default /)")
      ->type_name("DIR");
  cmd->add_option("CMD", o.command,
                  "The command and its arguments, after `--`; a name without a slash is looked "
                  "up on PATH inside ROOT")
      ->required();
}

Result<int> run_trace(const TraceOptions& o, std::ostream& /*out*/, std::ostream& err) {
  if (o.workdir.empty() || o.workdir.front() != '/') {
    return make_error("--workdir", "expected an absolute path inside ROOT", ErrorKind::Usage);
  }
  // The file is written as it goes (a timeout keeps what came before), under
  // a temporary name until the trace ends, so that a failed run does not
  // leave a truncated trace where a good one was.
  const std::string partial = o.output + ".partial";
  Fd fd(::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
  if (!fd.ok()) {
    return make_error(o.output,
                      fmt::format("cannot write the trace ({}): {}", partial, errno_text(errno)));
  }
  std::error_code ec;
  const std::string root = std::filesystem::absolute(o.root, ec).lexically_normal().string();
  ELFPRUNE_TRY(
      write_all(fd.get(),
                fmt::format("{}\n# root: {}\n# command: {}\n", kTraceHeader,
                            escape_trace_text(root), escape_trace_text(quoted_command(o.command))),
                partial));
  SandboxOptions sandbox;
  sandbox.tree = root;
  sandbox.argv = o.command;
  sandbox.env = o.env;
  sandbox.workdir = o.workdir;
  sandbox.timeout_seconds = o.timeout;
  sandbox.pass_output = true;
  sandbox.trace_fd = fd.get();
  auto run = run_in_sandbox(sandbox);
  if (!run) {
    ::unlink(partial.c_str());
    return run.error();
  }
  // A tracer killed in the middle of a write leaves a torn last line.
  drop_torn_line(fd.get());
  const std::string footer = run->timed_out ? fmt::format("# timeout: {}\n", o.timeout)
                                            : fmt::format("# exit: {}\n", run->status);
  ELFPRUNE_TRY(write_all(fd.get(), footer, partial));
  fd.reset();
  if (::rename(partial.c_str(), o.output.c_str()) != 0) {
    const int e = errno;
    ::unlink(partial.c_str());
    return errno_error(o.output, e);
  }
  // The command's own output went to ours: a short summary on stderr.
  const std::size_t events = count_events(o.output);
  if (!run->output.empty()) fmt::print(err, "{}", run->output);
  if (run->timed_out) {
    fmt::print(err, "elfprune: trace: {} timed out after {} s; {} events in {}\n",
               o.command.front(), o.timeout, events, o.output);
    return kTimedOut;
  }
  fmt::print(err, "elfprune: trace: {} exited with status {}; {} events in {}\n", o.command.front(),
             run->status, events, o.output);
  return run->status;
}

}  // namespace elfprune::cli
