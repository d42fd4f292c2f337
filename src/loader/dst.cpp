#include "loader/dst.hpp"

namespace elfprune {
namespace {

bool is_ident_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// glibc's is_dst: length of the token at `input` (just after the `$`),
// braced or not, or 0. An unbraced name must not run into identifier chars.
std::size_t token_length(std::string_view input, std::string_view ref) {
  bool curly = !input.empty() && input.front() == '{';
  std::string_view rest = curly ? input.substr(1) : input;
  if (rest.substr(0, ref.size()) != ref) return 0;
  if (curly) return rest.size() > ref.size() && rest[ref.size()] == '}' ? ref.size() + 2 : 0;
  if (rest.size() > ref.size() && is_ident_char(rest[ref.size()])) return 0;
  return ref.size();
}

}  // namespace

std::optional<std::string> expand_dst(std::string_view input, const DstValues& values, bool musl) {
  std::string out;
  std::size_t i = 0;
  while (i < input.size()) {
    if (input[i] != '$') {
      out += input[i++];
      continue;
    }
    std::string_view rest = input.substr(i + 1);
    struct Token {
      std::string_view name;
      const std::string* value;
    };
    const Token tokens[] = {
        {"ORIGIN", &values.origin}, {"PLATFORM", &values.platform}, {"LIB", &values.lib}};
    bool matched = false;
    for (const Token& t : tokens) {
      if (musl && t.name != "ORIGIN") continue;
      std::size_t len = token_length(rest, t.name);
      if (len == 0) continue;
      if (t.value->empty()) return std::nullopt;
      out += *t.value;
      i += 1 + len;
      matched = true;
      break;
    }
    if (!matched) {
      out += '$';
      ++i;
    }
  }
  return out;
}

}  // namespace elfprune
