// Globs for --keep and --drop: fnmatch(3)-like on whole inside paths, with
// `**` crossing directories (see glob.hpp).
#include "util/glob.hpp"

#include <fmt/format.h>

#include <string>
#include <utility>
#include <vector>

namespace elfprune {
namespace {

std::string_view base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

struct Token {
  enum Kind { Literal, Any, Star, DoubleStar, Class } kind = Literal;
  char c = 0;
  bool negated = false;
  std::vector<std::pair<char, char>> ranges;
};

std::vector<Token> tokenize(std::string_view pattern) {
  std::vector<Token> out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    Token t;
    if (c == '\\' && i + 1 < pattern.size()) {
      t.c = pattern[++i];
    } else if (c == '*') {
      t.kind = Token::Star;
      while (i + 1 < pattern.size() && pattern[i + 1] == '*') {
        t.kind = Token::DoubleStar;
        ++i;
      }
    } else if (c == '?') {
      t.kind = Token::Any;
    } else if (c == '[') {
      std::size_t j = i + 1;
      Token cls;
      cls.kind = Token::Class;
      if (j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^')) {
        cls.negated = true;
        ++j;
      }
      bool closed = false;
      for (bool first = true; j < pattern.size(); first = false) {
        if (pattern[j] == ']' && !first) {
          closed = true;
          break;
        }
        char lo = pattern[j];
        if (lo == '\\' && j + 1 < pattern.size()) lo = pattern[++j];
        char hi = lo;
        if (j + 2 < pattern.size() && pattern[j + 1] == '-' && pattern[j + 2] != ']') {
          hi = pattern[j + 2];
          j += 2;
        }
        cls.ranges.emplace_back(lo, hi);
        ++j;
      }
      if (closed) {
        out.push_back(std::move(cls));
        i = j;
        continue;
      }
      t.c = '[';  // no closing bracket: a literal '['
    } else {
      t.c = c;
    }
    out.push_back(std::move(t));
  }
  return out;
}

bool in_class(const Token& t, char c) {
  bool hit = false;
  for (auto [lo, hi] : t.ranges) hit = hit || (c >= lo && c <= hi);
  return hit != t.negated;
}

bool is_slash(const std::vector<Token>& tokens, std::size_t i) {
  return i < tokens.size() && tokens[i].kind == Token::Literal && tokens[i].c == '/';
}

// Table-driven, so that patterns with many stars cost O(pattern * path).
bool match_tokens(const std::vector<Token>& tokens, std::string_view s) {
  const std::size_t T = tokens.size(), S = s.size();
  std::vector<char> dp((T + 2) * (S + 1), 0);
  auto at = [&](std::size_t i, std::size_t j) -> char& { return dp[i * (S + 1) + j]; };
  at(T, S) = 1;
  for (std::size_t i = T; i-- > 0;) {
    const Token& t = tokens[i];
    for (std::size_t j = S + 1; j-- > 0;) {
      const bool more = j < S;
      bool ok = false;
      switch (t.kind) {
        case Token::Literal:
          ok = more && s[j] == t.c && at(i + 1, j + 1);
          break;
        case Token::Any:
          ok = more && s[j] != '/' && at(i + 1, j + 1);
          break;
        case Token::Class:
          ok = more && s[j] != '/' && in_class(t, s[j]) && at(i + 1, j + 1);
          break;
        case Token::Star:
          ok = at(i + 1, j) || (more && s[j] != '/' && at(i, j + 1));
          break;
        case Token::DoubleStar:
          ok = at(i + 1, j) || (more && at(i, j + 1));
          // `/**/` also matches a single slash: /usr/**/x matches /usr/x.
          if (!ok && is_slash(tokens, i + 1) && (i == 0 || is_slash(tokens, i - 1))) {
            ok = at(i + 2, j);
          }
          break;
      }
      at(i, j) = ok ? 1 : 0;
    }
  }
  return at(0, 0) != 0;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path) {
  if (pattern.find('/') == std::string_view::npos) {
    return match_tokens(tokenize(pattern), base_name(path));
  }
  std::string anchored;
  if (pattern.front() != '/') {
    anchored = fmt::format("/{}", pattern);
    pattern = anchored;
  }
  while (pattern.size() > 1 && pattern.back() == '/') pattern.remove_suffix(1);
  return match_tokens(tokenize(pattern), path);
}

}  // namespace elfprune
