#include "util/remove_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

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

}  // namespace elfprune
