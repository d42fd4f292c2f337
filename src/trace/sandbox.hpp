// Running a command inside a tree without changing it: chrooted, in new
// mount and PID namespaces, on an overlay whose lower layer is the tree
// and whose upper layer is a tmpfs (so the command writes nothing into the
// tree, not even __pycache__). What `prune --check` runs, and what the
// tracer runs under (`elfprune trace`).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace elfprune {

struct SandboxOptions {
  std::filesystem::path tree;  // host path of the tree the command runs in
  // Inside paths hidden from the command (a plan's removals, topmost
  // ones): whiteouts in the upper layer.
  std::vector<std::string> hidden;
  std::vector<std::string> argv;  // argv[0] without a slash is looked up on PATH inside
  std::vector<std::string> env;   // K=V, after PATH, HOME and LANG
  std::string workdir = "/";
  unsigned timeout_seconds = 300;  // 0: none
  // The command's standard output and error: its last lines kept in the
  // run (false), or this process's own (true; `elfprune trace`).
  bool pass_output = false;
  // >= 0: trace the command into this fd (trace/tracer.hpp).
  int trace_fd = -1;
};

struct SandboxRun {
  int status = 0;          // the command's exit status, 128 + N for signal N
  bool timed_out = false;  // killed (the whole PID namespace) at the timeout
  std::string output;      // its last lines of standard output and error, interleaved
                           // (or only why it could not start, with pass_output)
};

// Run argv in the sandbox and wait for it; every process it started is
// killed when it exits or at the timeout, and the mounts go with the
// namespace. A command that cannot be started inside (not found, not
// executable) is a run with status 127 and the reason as output. Errors:
// the sandbox cannot be made (no right to unshare or mount, a tree path
// the overlay cannot name).
Result<SandboxRun> run_in_sandbox(const SandboxOptions& options);

// A command line split as a shell would split it (single and double
// quotes, backslashes), without running a shell; an unterminated quote is
// an error naming `what`.
Result<std::vector<std::string>> split_command(std::string_view line, std::string_view what);

}  // namespace elfprune
