// Globs for --keep and --drop: fnmatch(3)-like on whole inside paths, with
// `**` crossing directories (see glob.hpp).
//
// A compiled pattern is a row of steps matched as a nondeterministic
// automaton, all live states advanced together one path byte at a time, so
// that `a*a*a*a*b` costs what `*b` costs times the number of stars instead
// of the exponential time of a backtracking matcher.
#include "util/glob.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <optional>
#include <utility>

#include "util/path.hpp"

namespace elfprune {
namespace {

using ByteSet = std::array<std::uint64_t, 4>;

void add(ByteSet& set, unsigned char c) {
  set[c >> 6] |= std::uint64_t{1} << (c & 63);
}

bool has(const ByteSet& set, unsigned char c) {
  return ((set[c >> 6] >> (c & 63)) & 1) != 0;
}

ByteSet only(unsigned char c) {
  ByteSet set{};
  add(set, c);
  return set;
}

ByteSet everything_but_slash() {
  ByteSet set;
  set.fill(~std::uint64_t{0});
  set['/' >> 6] &= ~(std::uint64_t{1} << ('/' & 63));
  return set;
}

// The C locale's classes, spelled out: <cctype> would follow whatever
// locale the process runs in, and bytes above 127 belong to none.
constexpr bool upper(int c) {
  return c >= 'A' && c <= 'Z';
}
constexpr bool lower(int c) {
  return c >= 'a' && c <= 'z';
}
constexpr bool digit(int c) {
  return c >= '0' && c <= '9';
}
constexpr bool alpha(int c) {
  return upper(c) || lower(c);
}
constexpr bool alnum(int c) {
  return alpha(c) || digit(c);
}
constexpr bool graph(int c) {
  return c > ' ' && c < 0x7f;
}

struct NamedClass {
  std::string_view name;
  bool (*contains)(int c);
};

constexpr std::array<NamedClass, 12> kClasses{{
    {"alnum", alnum},
    {"alpha", alpha},
    {"blank", [](int c) { return c == ' ' || c == '\t'; }},
    {"cntrl", [](int c) { return c < ' ' || c == 0x7f; }},
    {"digit", digit},
    {"graph", graph},
    {"lower", lower},
    {"print", [](int c) { return c == ' ' || graph(c); }},
    {"punct", [](int c) { return graph(c) && !alnum(c); }},
    {"space", [](int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }},
    {"upper", upper},
    {"xdigit", [](int c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }},
}};

Error bad(std::string_view pattern, std::string message) {
  return make_error(std::string(pattern), std::move(message), ErrorKind::Usage);
}

// The bracket expression opening at p[open], into `set`; returns the
// position just past its `]`. `]` right after `[`, `[!` or `[^` is a member,
// as are `-` first or last; `\` escapes one byte.
Result<std::size_t> parse_bracket(std::string_view original, std::string_view p, std::size_t open,
                                  ByteSet& set) {
  std::size_t i = open + 1;
  const bool negated = i < p.size() && (p[i] == '!' || p[i] == '^');
  if (negated) ++i;
  set = ByteSet{};
  for (bool first = true; i < p.size(); first = false) {
    if (p[i] == ']' && !first) {
      if (negated) {
        for (auto& w : set) w = ~w;
      }
      return i + 1;
    }
    if (p.substr(i).starts_with("[:")) {
      const std::size_t end = p.find(":]", i + 2);
      if (end == std::string_view::npos) {
        return bad(original, "'[:' without a closing ':]' (a literal '[' is written '\\[')");
      }
      const std::string_view name = p.substr(i + 2, end - i - 2);
      const auto* cls = std::find_if(kClasses.begin(), kClasses.end(),
                                     [&](const NamedClass& k) { return k.name == name; });
      if (cls == kClasses.end()) {
        return bad(original, fmt::format("unknown character class '[:{}:]' (alnum, alpha, blank, "
                                         "cntrl, digit, graph, lower, print, punct, space, "
                                         "upper, xdigit)",
                                         name));
      }
      for (int c = 0; c < 256; ++c) {
        if (cls->contains(c)) add(set, static_cast<unsigned char>(c));
      }
      i = end + 2;
      continue;
    }
    if (p[i] == '\\' && i + 1 < p.size()) ++i;
    const auto lo = static_cast<unsigned char>(p[i++]);
    if (i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']') {
      std::size_t at = i + 1;
      if (p.substr(at).starts_with("[:")) {
        return bad(original, "a character class cannot end a range");
      }
      if (p[at] == '\\' && at + 1 < p.size()) ++at;
      const auto hi = static_cast<unsigned char>(p[at]);
      if (hi < lo) {
        // fnmatch would match nothing here, silently.
        return bad(original, fmt::format("reversed range '{}-{}'", static_cast<char>(lo),
                                         static_cast<char>(hi)));
      }
      for (unsigned c = lo; c <= hi; ++c) add(set, static_cast<unsigned char>(c));
      i = at + 1;
    } else {
      add(set, lo);
    }
  }
  // fnmatch would take the `[` literally, so `--keep '[a'` would keep
  // nothing without a word.
  return bad(original, "'[' without a closing ']' (a literal '[' is written '\\[')");
}

}  // namespace

Result<GlobPattern> GlobPattern::compile(std::string_view pattern) {
  if (pattern.empty()) return bad(pattern, "empty pattern");
  GlobPattern g;
  g.text_ = std::string(pattern);
  g.last_component_ = pattern.find('/') == std::string_view::npos;
  std::string anchored(pattern);
  if (!g.last_component_) {
    if (pattern.front() != '/') anchored = fmt::format("/{}", pattern);
    while (anchored.size() > 1 && anchored.back() == '/') anchored.pop_back();
  }
  const std::string_view p = anchored;

  // The byte each step stands for alone, if it is a plain byte.
  std::vector<std::optional<char>> literal;
  for (std::size_t i = 0; i < p.size(); ++i) {
    Step step;
    std::optional<char> byte;
    if (p[i] == '*') {
      const std::size_t run = p.find_first_not_of('*', i);
      const std::size_t stars = (run == std::string_view::npos ? p.size() : run) - i;
      step.repeats = true;
      if (stars == 1) {
        step.accepts = everything_but_slash();
      } else {
        step.accepts.fill(~std::uint64_t{0});
      }
      i += stars - 1;
    } else if (p[i] == '?') {
      step.accepts = everything_but_slash();
    } else if (p[i] == '[') {
      ELFPRUNE_TRY_ASSIGN(const std::size_t end, parse_bracket(pattern, p, i, step.accepts));
      step.accepts['/' >> 6] &= ~(std::uint64_t{1} << ('/' & 63));
      i = end - 1;
    } else {
      // A trailing backslash stands for itself.
      if (p[i] == '\\' && i + 1 < p.size()) ++i;
      byte = p[i];
      step.accepts = only(static_cast<unsigned char>(p[i]));
    }
    g.steps_.push_back(step);
    literal.push_back(byte);
  }

  const std::size_t n = g.steps_.size();
  const auto is_slash = [&](std::size_t i) { return i < n && literal[i] == '/'; };
  for (std::size_t i = 0; i < n; ++i) {
    Step& step = g.steps_[i];
    if (!step.repeats) continue;
    g.repeating_.push_back(i);
    // `/usr/**/x` matches /usr/x too.
    const bool double_star = has(step.accepts, '/');
    step.skips_slash = double_star && is_slash(i + 1) && (i == 0 || is_slash(i - 1));
  }

  std::size_t head = 0;
  while (head < n && literal[head]) g.prefix_ += *literal[head++];
  std::size_t tail = n;
  while (tail > head && literal[tail - 1]) --tail;
  // The `/` after a `/**` may be skipped, so it is no fixed byte.
  if (tail < n && tail > head && g.steps_[tail - 1].skips_slash) ++tail;
  for (std::size_t i = tail; i < n; ++i) g.suffix_ += *literal[i];
  return g;
}

bool GlobPattern::matches(std::string_view path) const {
  std::string_view s = last_component_ ? path_base(path) : path;
  if (s.size() < prefix_.size() + suffix_.size() || !s.starts_with(prefix_) ||
      !s.ends_with(suffix_)) {
    return false;
  }
  s = s.substr(prefix_.size(), s.size() - prefix_.size() - suffix_.size());
  // Live states are steps first..last, `last` meaning the middle is done.
  const std::size_t first = prefix_.size();
  const std::size_t last = steps_.size() - suffix_.size();
  if (first == last) return s.empty();

  const std::size_t words = (last - first + 1 + 63) / 64;
  std::array<std::uint64_t, 8> small{};  // both sets, for patterns of up to 255 steps
  std::vector<std::uint64_t> large;
  std::uint64_t* live = small.data();
  if (words > small.size() / 2) {
    large.assign(2 * words, 0);
    live = large.data();
  }
  std::uint64_t* next = live + words;
  const auto set = [&](std::uint64_t* bits, std::size_t step) {
    const std::size_t r = step - first;
    bits[r >> 6] |= std::uint64_t{1} << (r & 63);
  };
  const auto test = [&](const std::uint64_t* bits, std::size_t step) {
    const std::size_t r = step - first;
    return ((bits[r >> 6] >> (r & 63)) & 1) != 0;
  };
  // A star may match nothing; ascending, so that `**/*` chains through.
  const auto skip_empty = [&](std::uint64_t* bits) {
    for (std::size_t i : repeating_) {
      if (!test(bits, i)) continue;
      set(bits, i + 1);
      if (steps_[i].skips_slash) set(bits, i + 2);
    }
  };

  set(live, first);
  skip_empty(live);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    std::fill(next, next + words, 0);
    bool any = false;
    for (std::size_t w = 0; w < words; ++w) {
      for (std::uint64_t bits = live[w]; bits != 0; bits &= bits - 1) {
        const std::size_t i = first + w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
        if (i == last || !has(steps_[i].accepts, c)) continue;
        set(next, steps_[i].repeats ? i : i + 1);
        any = true;
      }
    }
    if (!any) return false;
    skip_empty(next);
    std::swap(live, next);
  }
  return test(live, last);
}

}  // namespace elfprune
