// The `#!` parser replicates load_script() in the kernel's fs/binfmt_script.c
// (Linux >= 5.1) step by step, on the same zero-padded 256-byte buffer, so
// that odd lines (CRLF, no newline, over-long) give what exec would run.
#include "facts/shebang.hpp"

#include <array>
#include <cstring>

#include "util/path.hpp"

namespace elfprune {
namespace {

constexpr std::size_t kBinprmBufSize = 256;  // BINPRM_BUF_SIZE

bool spacetab(char c) {
  return c == ' ' || c == '\t';
}

// Both helpers scan [first, last] inclusive and return kNone when nothing
// matches, as the kernel's next_non_spacetab() and next_terminator() do.
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

std::size_t next_non_spacetab(const char* buf, std::size_t first, std::size_t last) {
  for (; first <= last; ++first) {
    if (!spacetab(buf[first])) return first;
  }
  return kNone;
}

std::size_t next_terminator(const char* buf, std::size_t first, std::size_t last) {
  for (; first <= last; ++first) {
    if (spacetab(buf[first]) || buf[first] == '\0') return first;
  }
  return kNone;
}

// A C string inside [first, last): the kernel copies the interpreter and the
// argument with strlen semantics, so an embedded NUL ends them.
std::string c_string(const char* buf, std::size_t first, std::size_t last) {
  const void* nul = std::memchr(buf + first, '\0', last - first);
  if (nul != nullptr) last = static_cast<std::size_t>(static_cast<const char*>(nul) - buf);
  return std::string(buf + first, last - first);
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::vector<std::string_view> split_blanks(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_blank(s[i])) ++i;
    const std::size_t start = i;
    while (i < s.size() && !is_blank(s[i])) ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

// The program `env` would run, given its (already split) arguments: GNU
// env's options are skipped the way its getopt loop would consume them,
// then NAME=value assignments (any word with `=`), and the next word is the
// program. -S/--split-string's text is spliced in as further words; its
// quoting and escapes (`\_`, "${VAR}") are not interpreted.
std::string env_program_of(std::vector<std::string_view> words) {
  std::size_t i = 0;
  auto splice = [&words, &i](std::string_view text) {
    const auto more = split_blanks(text);
    words.insert(words.begin() + static_cast<std::ptrdiff_t>(i) + 1, more.begin(), more.end());
  };
  for (; i < words.size(); ++i) {
    const std::string_view w = words[i];
    if (w == "--") {
      ++i;
      break;
    }
    if (w.size() < 2 || w[0] != '-') break;  // `-` alone is --ignore-environment, handled below
    if (w.substr(0, 2) == "--") {
      const std::size_t eq = w.find('=');
      const std::string_view name = w.substr(0, eq);
      if (name == "--split-string" && eq != std::string_view::npos) {
        splice(w.substr(eq + 1));
      } else if ((name == "--unset" || name == "--chdir") && eq == std::string_view::npos &&
                 i + 1 < words.size()) {
        ++i;  // --unset NAME, --chdir DIR; a separate --split-string TEXT is already split
      }
      continue;
    }
    // A cluster of short options (-iv, -uNAME, -S'prog args').
    for (std::size_t k = 1; k < w.size(); ++k) {
      const char opt = w[k];
      if (opt == 'u' || opt == 'C' || opt == 'S') {
        const std::string_view rest = w.substr(k + 1);
        if (opt == 'S') {
          if (!rest.empty()) splice(rest);
        } else if (rest.empty() && i + 1 < words.size()) {
          ++i;  // the option's value is the next word
        }
        break;
      }
    }
  }
  // `-` (a lone dash) also means --ignore-environment.
  while (i < words.size() && (words[i] == "-" || words[i].find('=') != std::string_view::npos)) {
    ++i;
  }
  return i < words.size() ? std::string(words[i]) : std::string();
}

}  // namespace

std::optional<Shebang> parse_shebang(std::string_view head) {
  // bprm->buf: the first 256 bytes of the file, NUL-padded when shorter.
  std::array<char, kBinprmBufSize> buf{};
  std::memcpy(buf.data(), head.data(), std::min(head.size(), buf.size()));
  const char* b = buf.data();
  if (b[0] != '#' || b[1] != '!') return std::nullopt;

  const std::size_t buf_end = kBinprmBufSize - 1;
  std::size_t i_end;
  const void* newline = std::memchr(b, '\n', kBinprmBufSize);
  if (newline != nullptr) {
    i_end = static_cast<std::size_t>(static_cast<const char*>(newline) - b);
  } else {
    i_end = next_non_spacetab(b, 2, buf_end);
    if (i_end == kNone) return std::nullopt;  // all blanks
    // No blank or NUL after the interpreter's start: its name was cut at
    // 256 bytes, and Linux >= 5.1 refuses to exec a truncated path.
    if (next_terminator(b, i_end, buf_end) == kNone) return std::nullopt;
    i_end = buf_end;
  }
  while (spacetab(b[i_end - 1])) --i_end;

  const std::size_t i_name = next_non_spacetab(b, 2, i_end);
  if (i_name == kNone || i_name == i_end) return std::nullopt;

  std::size_t i_arg = kNone;
  const std::size_t i_sep = next_terminator(b, i_name, i_end);
  if (i_sep != kNone && b[i_sep] != '\0') i_arg = next_non_spacetab(b, i_sep, i_end);

  Shebang out;
  out.interpreter = c_string(b, i_name, i_sep == kNone ? i_end : i_sep);
  if (out.interpreter.empty()) return std::nullopt;  // `#!` directly followed by NUL
  if (i_arg != kNone && i_arg < i_end) out.argument = c_string(b, i_arg, i_end);

  const std::string_view base = path_base(out.interpreter);
  if (base == "env") {
    // Linux passes the argument as one word, so `env python3 -u` fails at
    // run time unless -S splits it; the program meant is still `python3`.
    out.env_program = env_program_of(split_blanks(out.argument));
  }
  return out;
}

std::optional<std::string> find_on_path(const Root& root, std::string_view program,
                                        std::string_view path) {
  if (program.empty()) return std::nullopt;
  auto is_executable = [&root](const std::string& candidate) {
    auto st = root.resolve(candidate);
    return st && st->type == FileType::Regular && (st->mode & 0111) != 0;
  };
  // execvp does not search PATH for a name with a slash.
  if (program.find('/') != std::string_view::npos) {
    std::string direct = lexically_absolute(program);
    if (is_executable(direct)) return direct;
    return std::nullopt;
  }
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t colon = path.find(':', pos);
    if (colon == std::string_view::npos) colon = path.size();
    const std::string_view dir = path.substr(pos, colon - pos);
    pos = colon + 1;
    // Empty and relative entries mean the working directory, which is not
    // known before the program runs; guessing `/` would invent matches.
    if (dir.empty() || dir.front() != '/') continue;
    std::string candidate(dir);
    if (candidate.back() != '/') candidate += '/';
    candidate.append(program);
    if (is_executable(candidate)) return candidate;
  }
  return std::nullopt;
}

}  // namespace elfprune
