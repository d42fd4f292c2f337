#include "util/path.hpp"

namespace elfprune {

std::string_view path_base(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view path_parent(std::string_view path) {
  const auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  return slash == 0 ? std::string_view("/") : path.substr(0, slash);
}

std::string path_join(std::string_view dir, std::string_view name) {
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  out += dir;
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

bool path_under(std::string_view path, std::string_view dir) {
  if (dir == "/") return path.starts_with('/');
  return path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/');
}

std::vector<std::string> path_components(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string path_of_components(const std::vector<std::string>& comps, std::size_t n) {
  if (n == 0) return "/";
  std::string out;
  for (std::size_t k = 0; k < n && k < comps.size(); ++k) {
    out += '/';
    out += comps[k];
  }
  return out;
}

std::string lexically_absolute(std::string_view path, std::string_view base) {
  std::vector<std::string> comps;
  auto push = [&comps](std::string_view p) {
    for (auto& c : path_components(p)) {
      if (c == ".") continue;
      if (c == "..") {
        if (!comps.empty()) comps.pop_back();
        continue;
      }
      comps.push_back(std::move(c));
    }
  };
  if (path.empty() || path.front() != '/') push(base);
  push(path);
  return path_of_components(comps, comps.size());
}

}  // namespace elfprune
