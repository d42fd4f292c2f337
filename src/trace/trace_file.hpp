// The trace file: what `elfprune trace` records and `prune --trace` reads.
// Text, one event a line, so that a person can read it, merge several and
// edit it (README.md, "The trace file"):
//
//   # elfprune trace 1
//   PID CALL RESULT PATH
//
// PATH is the rest of the line, absolute inside the root, with \\, \n, \t
// and \xHH escapes; lines starting with '#' are comments.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace elfprune {

inline constexpr std::string_view kTraceHeader = "# elfprune trace 1";

struct TraceEvent {
  int pid = 0;
  std::string call;    // the system call, or "exe" / "interp" after an exec (the program
                       // the kernel runs; a #! or ELF interpreter it loaded)
  std::string result;  // "ok", or the errno's name ("ENOENT")
  std::string path;    // inside the root, symlinks not resolved
  std::size_t line = 0;

  bool ok() const { return result == "ok"; }
  // A failed probe of a path that is not there (ENOENT, ENOTDIR): a search
  // path, not evidence of a file. Any other result means the path exists.
  bool missing() const {
    return result == "ENOENT" || result == "ENOTDIR" || result == "ENAMETOOLONG";
  }
};

struct TraceFile {
  std::string name;  // as the user named it, for reasons ("app.trace:12")
  std::vector<TraceEvent> events;
};

// "PID CALL RESULT PATH\n", the path escaped.
std::string format_trace_line(int pid, std::string_view call, std::string_view result,
                              std::string_view path);

// Text for one line: \\, \n, \t and \xHH escapes (a path, a comment's value).
std::string escape_trace_text(std::string_view text);

// Each line checked: a line that does not parse, or a path that is not
// absolute, is an error naming the file and line. `..` is resolved later,
// as the kernel does in a chroot: never above the root.
Result<TraceFile> parse_trace(std::string_view text, std::string name);
Result<TraceFile> read_trace(const std::filesystem::path& file);

// A path as the tracer writes it: `.`, repeated slashes and `..` at the
// root dropped, other `..` kept (a symlink before it decides where it leads).
std::string tidy_trace_path(std::string_view path);

}  // namespace elfprune
