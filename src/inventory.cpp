#include "elfprune/inventory.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

namespace elfprune {
namespace {

std::string join(const std::string& dir, std::string_view name) {
  return dir == "/" ? fmt::format("/{}", name) : fmt::format("{}/{}", dir, name);
}

class Walker {
 public:
  Walker(const Root& root, Inventory& inv, dev_t top_dev, const std::vector<std::string>& hidden)
      : root_(root), inv_(inv), top_dev_(top_dev), hidden_(hidden) {}

  // Directories are opened relative to their parent's fd with O_NOFOLLOW, so
  // a symlink swapped in mid-walk is never followed out of the tree.
  void walk(int dirfd, const std::string& dir) {
    std::vector<std::string> names;
    {
      int fd = ::dup(dirfd);
      if (fd < 0) return;
      DIR* d = ::fdopendir(fd);
      if (d == nullptr) {
        ::close(fd);
        inv_.problems.push_back(
            make_error(dir, fmt::format("cannot list: {}", std::strerror(errno))));
        return;
      }
      while (dirent* e = ::readdir(d)) {
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        names.emplace_back(e->d_name);
      }
      ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      if (dir == inv_.top && std::find(hidden_.begin(), hidden_.end(), name) != hidden_.end()) {
        continue;
      }
      struct stat st {};
      const std::string path = join(dir, name);
      if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        inv_.problems.push_back(make_error(path, std::strerror(errno)));
        continue;
      }
      InventoryEntry e = entry_of(path, st);
      bool whole_target = false;
      if (e.type == FileType::Symlink) {
        std::string target(static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)) + 256, '\0');
        ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
        if (n >= 0) {
          whole_target = static_cast<std::size_t>(n) < target.size();
          target.resize(static_cast<std::size_t>(n));
          e.link_target = std::move(target);
        }
      }
      // The later passes look these paths up again (and every directory on
      // the way to them): from the stat memo, not the kernel.
      root_.remember(path, st, whole_target ? &e.link_target : nullptr);
      // A mount point (a /proc or a bind mount inside the root) is recorded
      // but not entered: its contents are not the tree's, and pruning in
      // place must never reach into another filesystem.
      const bool is_dir = e.type == FileType::Directory && e.dev == top_dev_;
      inv_.entries.push_back(std::move(e));
      if (is_dir) {
        int sub = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
          inv_.problems.push_back(
              make_error(path, fmt::format("cannot open directory: {}", std::strerror(errno))));
          continue;
        }
        walk(sub, path);
        ::close(sub);
      }
    }
  }

  static InventoryEntry entry_of(const std::string& path, const struct stat& st) {
    InventoryEntry e;
    e.path = path;
    e.type = file_type_of(st.st_mode);
    e.size = static_cast<std::uint64_t>(st.st_size);
    e.mode = st.st_mode;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.atime = st.st_atim;
    e.mtime = st.st_mtim;
    e.dev = st.st_dev;
    e.ino = st.st_ino;
    e.nlink = st.st_nlink;
    e.rdev = st.st_rdev;
    return e;
  }

 private:
  const Root& root_;
  Inventory& inv_;
  dev_t top_dev_;
  const std::vector<std::string>& hidden_;
};

}  // namespace

const InventoryEntry* Inventory::find(const std::string& path) const {
  auto it = index.find(path);
  return it == index.end() ? nullptr : &entries[it->second];
}

std::uint64_t Inventory::total_bytes() const {
  std::uint64_t total = 0;
  std::unordered_set<std::uint64_t> seen;
  for (const auto& e : entries) {
    if (e.type != FileType::Regular) continue;
    if (e.nlink > 1 && !seen.insert((static_cast<std::uint64_t>(e.dev) << 40) ^ e.ino).second) {
      continue;
    }
    total += e.size;
  }
  return total;
}

std::size_t Inventory::file_count() const {
  return static_cast<std::size_t>(std::count_if(
      entries.begin(), entries.end(), [](const auto& e) { return e.type != FileType::Directory; }));
}

bool Inventory::contains(const std::string& path) const {
  if (top == "/") return !path.empty() && path.front() == '/';
  return path == top || (path.size() > top.size() && path.compare(0, top.size(), top) == 0 &&
                         path[top.size()] == '/');
}

Result<Inventory> take_inventory(const Root& root, const std::string& top,
                                 const std::vector<std::string>& hidden) {
  auto st = root.resolve(top);
  if (!st) return st.error();
  if (st->type != FileType::Directory) return make_error(top, "not a directory");
  Inventory inv;
  inv.top = st->path;
  const std::string host = root.host(st->path).string();
  int fd = ::open(host.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return make_error(top, fmt::format("cannot open directory: {}", std::strerror(errno)));
  struct stat tst {};
  if (::fstat(fd, &tst) == 0) inv.entries.push_back(Walker::entry_of(inv.top, tst));
  Walker(root, inv, tst.st_dev, hidden).walk(fd, inv.top);
  ::close(fd);
  // Sorted by path with '/' ordered first (as if it were '\0', the one byte
  // no name holds), so that a directory's subtree is contiguous and follows
  // the directory itself: the walk gives that order, a depth-first walk
  // with each directory's names in byte order ("a", then a's subtree, then
  // "a.b" and "a\x01b", which a plain sort of whole paths would interleave).
  inv.index.reserve(inv.entries.size());
  for (std::size_t i = 0; i < inv.entries.size(); ++i) inv.index.emplace(inv.entries[i].path, i);
  return inv;
}

}  // namespace elfprune
