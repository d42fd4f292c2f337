// Every kept ELF object and script is scanned for path strings.
#include <set>
#include <string>
#include <string_view>

#include "facts/pathrefs.hpp"
#include "fuzz_targets.hpp"

namespace elfprune::fuzz {
namespace {

bool is_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("._+,@%=~-/").find(c) != std::string_view::npos;
}

bool is_nix_base32(char c) {
  return std::string_view("0123456789abcdfghijklmnpqrsvwxyz").find(c) != std::string_view::npos;
}

bool is_store_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("+._?=-").find(c) != std::string_view::npos;
}

}  // namespace

// The contract in src/facts/pathrefs.hpp, checked on each string found: every one is
// in the input, distinct, and has the documented shape.
void pathrefs(std::string_view bytes) {
  std::set<std::string> seen;
  for (const auto& path : scan_path_strings(bytes)) {
    FUZZ_CHECK(seen.insert(path).second);
    FUZZ_CHECK(bytes.find(path) != std::string_view::npos);
    FUZZ_CHECK(path.size() >= 2 && path.size() <= 4096 && path.front() == '/');
    FUZZ_CHECK(path.find("//") == std::string::npos);
    FUZZ_CHECK(path.back() != '/' && path.back() != '.');
    for (char c : path) FUZZ_CHECK(is_path_char(c));
  }
  seen.clear();
  constexpr std::string_view kStore = "/nix/store/";
  for (const auto& path : scan_store_paths(bytes)) {
    FUZZ_CHECK(seen.insert(path).second);
    FUZZ_CHECK(bytes.find(path) != std::string_view::npos);
    FUZZ_CHECK(path.starts_with(kStore) && path.size() > kStore.size() + 33);
    const std::string_view hash = std::string_view(path).substr(kStore.size(), 32);
    for (char c : hash) FUZZ_CHECK(is_nix_base32(c));
    FUZZ_CHECK(path[kStore.size() + 32] == '-');
    for (char c : path.substr(kStore.size() + 33)) FUZZ_CHECK(is_store_name_char(c));
  }
}

}  // namespace elfprune::fuzz
