#include "util/remove_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string_view>
#include <vector>

namespace elfprune {

void remove_tree_at(int dirfd, const char* name) {
  if (::unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return;
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return;
  }
  std::vector<std::string> names;
  while (dirent* de = ::readdir(d)) {
    std::string_view n = de->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  for (const auto& n : names) remove_tree_at(::dirfd(d), n.c_str());
  ::closedir(d);
  ::unlinkat(dirfd, name, AT_REMOVEDIR);
}

void remove_tree(const std::string& path) {
  remove_tree_at(AT_FDCWD, path.c_str());
}

std::string temp_template(const std::string& dir, std::string_view prefix) {
  std::string out = dir;
  if (out.empty() || out.back() != '/') out += '/';
  out += prefix;
  out += std::to_string(::getpid());
  out += "-XXXXXX";
  return out;
}

void remove_stale(const std::string& dir, std::string_view prefix) {
  DIR* d = ::opendir(dir.empty() ? "." : dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* de = ::readdir(d)) {
    std::string_view name = de->d_name;
    if (name.substr(0, prefix.size()) != prefix) continue;
    std::string_view rest = name.substr(prefix.size());
    const auto dash = rest.find('-');
    if (dash == 0 || dash == std::string_view::npos) continue;
    long pid = 0;
    for (char c : rest.substr(0, dash)) {
      if (c < '0' || c > '9' || pid > 1'000'000'000) {
        pid = 0;
        break;
      }
      pid = pid * 10 + (c - '0');
    }
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      stale.emplace_back(name);
  }
  for (const auto& n : stale) remove_tree_at(::dirfd(d), n.c_str());
  ::closedir(d);
}

}  // namespace elfprune
