// Path strings are looked for in every kept ELF object and script, among
// them 50 MB libraries (libnode), so the scan is memchr for `/` plus table
// lookups: no regex, no per-byte branching on character classes, no copies
// until a candidate is accepted.
#include "facts/pathrefs.hpp"

#include <array>
#include <cstring>
#include <unordered_set>

namespace elfprune {
namespace {

constexpr std::size_t kMaxPath = 4096;  // PATH_MAX

constexpr std::array<bool, 256> make_table(std::string_view extra) {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : extra) t[static_cast<unsigned char>(c)] = true;
  return t;
}

constexpr auto kPathChar = make_table("._+,@%=~-/");
constexpr auto kStoreNameChar = make_table("+._?=-");
constexpr auto kNixBase32 = [] {
  std::array<bool, 256> t{};
  for (char c : std::string_view("0123456789abcdfghijklmnpqrsvwxyz")) {
    t[static_cast<unsigned char>(c)] = true;
  }
  return t;
}();
constexpr std::size_t kHashLength = 32;

bool is_path_char(char c) {
  return kPathChar[static_cast<unsigned char>(c)];
}

// Whether a path may start at `pos`: the `=` exception lets `NAME=/path`
// assignments (environment strings, --option=/path) through while keeping
// the slashes inside relative paths (`lib/x`, `~/x`) from starting one.
bool may_start_at(std::string_view bytes, std::size_t pos) {
  if (pos == 0) return true;
  const char before = bytes[pos - 1];
  return before == '=' || !is_path_char(before);
}

// Keeps the first occurrence of each string; views point into the input,
// so nothing is copied until the result is built.
class Distinct {
 public:
  void add(std::string_view s) {
    if (seen_.insert(s).second) order_.push_back(s);
  }
  std::vector<std::string> take() const { return {order_.begin(), order_.end()}; }

 private:
  std::unordered_set<std::string_view> seen_;
  std::vector<std::string_view> order_;
};

}  // namespace

std::vector<std::string> scan_path_strings(std::string_view bytes) {
  Distinct found;
  const char* const data = bytes.data();
  const std::size_t size = bytes.size();
  std::size_t pos = 0;
  while (pos < size) {
    const void* hit = std::memchr(data + pos, '/', size - pos);
    if (hit == nullptr) break;
    const std::size_t start = static_cast<std::size_t>(static_cast<const char*>(hit) - data);
    if (!may_start_at(bytes, start)) {
      pos = start + 1;
      continue;
    }
    // The whole run of path characters is consumed even when the candidate
    // stops earlier at `//`: every later `/` in the run follows a path
    // character and could not start a candidate anyway.
    std::size_t end = start + 1;
    std::size_t cut = std::string_view::npos;  // first `//`
    while (end < size && is_path_char(data[end])) {
      if (cut == std::string_view::npos && data[end] == '/' && data[end - 1] == '/') {
        cut = end - 1;
      }
      ++end;
    }
    pos = end;
    std::size_t stop = cut == std::string_view::npos ? end : cut;
    while (stop > start + 1 && (data[stop - 1] == '/' || data[stop - 1] == '.')) --stop;
    const std::size_t length = stop - start;
    if (length < 2 || length > kMaxPath) continue;
    found.add(bytes.substr(start, length));
  }
  return found.take();
}

std::vector<std::string> scan_store_paths(std::string_view bytes, std::string_view store_dir) {
  while (store_dir.size() > 1 && store_dir.back() == '/') store_dir.remove_suffix(1);
  Distinct found;
  if (store_dir.empty()) return found.take();
  std::size_t pos = 0;
  while ((pos = bytes.find(store_dir, pos)) != std::string_view::npos) {
    const std::size_t start = pos;
    pos += 1;
    if (!may_start_at(bytes, start)) continue;
    std::size_t i = start + store_dir.size();
    if (i >= bytes.size() || bytes[i] != '/') continue;
    ++i;
    const std::size_t hash = i;
    while (i < bytes.size() && i - hash < kHashLength &&
           kNixBase32[static_cast<unsigned char>(bytes[i])]) {
      ++i;
    }
    if (i - hash != kHashLength || i >= bytes.size() || bytes[i] != '-') continue;
    ++i;
    const std::size_t name = i;
    while (i < bytes.size() && kStoreNameChar[static_cast<unsigned char>(bytes[i])]) ++i;
    if (i == name) continue;
    found.add(bytes.substr(start, i - start));
    pos = i;
  }
  return found.take();
}

}  // namespace elfprune
