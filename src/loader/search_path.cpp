#include "loader/search_path.hpp"

#include <algorithm>

namespace elfprune {

std::vector<std::string> parse_search_list(std::string_view list, std::string_view separators,
                                           const DstValues& values, bool musl,
                                           bool empty_is_ignored) {
  std::vector<std::string> out;
  if (list.empty() && empty_is_ignored) return out;
  if (musl) {
    // fixup_rpath: only $ORIGIN and ${ORIGIN} are understood; anything else
    // makes musl drop the object's whole path list.
    for (std::size_t p = list.find('$'); p != std::string_view::npos; p = list.find('$', p + 1)) {
      std::string_view t = list.substr(p);
      if (t.substr(0, 7) != "$ORIGIN" && t.substr(0, 9) != "${ORIGIN}") return out;
    }
  }
  std::size_t i = 0;
  for (;;) {
    std::size_t j = list.find_first_of(separators, i);
    std::string_view elem =
        list.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    bool keep = false;
    std::string dir;  // "" stands for the working directory
    if (elem.empty()) {
      keep = !musl;
    } else if (auto expanded = expand_dst(elem, values, musl); expanded && !expanded->empty()) {
      keep = true;
      dir = std::move(*expanded);
      if (!musl) {
        while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      }
    }
    if (keep && std::find(out.begin(), out.end(), dir) == out.end()) out.push_back(dir);
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

}  // namespace elfprune
