#include "trace/trace_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <charconv>

#include "util/fd.hpp"
#include "util/path.hpp"

namespace elfprune {
namespace {

constexpr std::size_t kMaxTraceBytes = std::size_t{1} << 30;

void escape_path(std::string_view path, std::string& out) {
  static const char* const kHex = "0123456789abcdef";
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The escapes undone; nullopt when one is malformed.
std::optional<std::string> unescape_path(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i >= text.size()) return std::nullopt;
    switch (text[i]) {
      case '\\':
        out += '\\';
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'x': {
        if (i + 2 >= text.size()) return std::nullopt;
        const int hi = hex_digit(text[i + 1]), lo = hex_digit(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

bool is_call_name(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool is_result(std::string_view s) {
  if (s == "ok") return true;
  if (s.size() < 2 || s[0] != 'E') return false;
  for (const char c : s.substr(1)) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

}  // namespace

std::string escape_trace_text(std::string_view text) {
  std::string out;
  escape_path(text, out);
  return out;
}

std::string format_trace_line(int pid, std::string_view call, std::string_view result,
                              std::string_view path) {
  std::string out = fmt::format("{} {} {} ", pid, call, result);
  escape_path(path, out);
  out += '\n';
  return out;
}

std::string tidy_trace_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (const auto& c : path_components(path)) {
    // `..` at the root is the root, as in a chroot; elsewhere it stays (a
    // symlink before it decides where it leads).
    if (c == "." || (c == ".." && out.empty())) continue;
    out += '/';
    out += c;
  }
  return out.empty() ? "/" : out;
}

Result<TraceFile> parse_trace(std::string_view text, std::string name) {
  TraceFile trace;
  trace.name = std::move(name);
  std::size_t line_no = 0;
  for (std::size_t at = 0; at < text.size();) {
    auto nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(at, nl - at);
    at = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const auto bad = [&](std::string_view why) {
      return make_error(fmt::format("{}:{}", trace.name, line_no),
                        fmt::format("{}: '{}'", why, line.substr(0, 200)));
    };
    TraceEvent e;
    e.line = line_no;
    const auto s1 = line.find(' ');
    const auto s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
    const auto s3 = s2 == std::string_view::npos ? s2 : line.find(' ', s2 + 1);
    if (s3 == std::string_view::npos) return bad("not an event (PID CALL RESULT PATH)");
    const std::string_view pid = line.substr(0, s1);
    const auto [end, ec] = std::from_chars(pid.data(), pid.data() + pid.size(), e.pid);
    if (ec != std::errc() || end != pid.data() + pid.size() || e.pid <= 0)
      return bad("the process ID is not a number");
    e.call = std::string(line.substr(s1 + 1, s2 - s1 - 1));
    if (!is_call_name(e.call)) return bad("the call is not a name");
    e.result = std::string(line.substr(s2 + 1, s3 - s2 - 1));
    if (!is_result(e.result)) return bad("the result is neither 'ok' nor an errno name");
    auto path = unescape_path(line.substr(s3 + 1));
    if (!path) return bad("a malformed escape in the path");
    if (path->empty() || path->front() != '/') return bad("the path is not absolute");
    if (path->find('\0') != std::string::npos) return bad("the path holds a NUL byte");
    e.path = std::move(*path);
    trace.events.push_back(std::move(e));
  }
  return trace;
}

Result<TraceFile> read_trace(const std::filesystem::path& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return errno_error(file.string(), errno);
  auto text = read_all(fd.get(), kMaxTraceBytes, file.string());
  if (!text) return text.error();
  return parse_trace(*text, file.string());
}

}  // namespace elfprune
