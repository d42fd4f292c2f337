// One walk over the tree to prune: every entry's type, size, mode, owner,
// times and link identity. Special files are noted, never opened.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "elfprune/result.hpp"
#include "elfprune/root.hpp"

namespace elfprune {

struct InventoryEntry {
  std::string path;  // absolute inside the root, no symlinks in its directories
  FileType type = FileType::Other;
  std::uint64_t size = 0;  // st_size
  mode_t mode = 0;         // full st_mode
  uid_t uid = 0;
  gid_t gid = 0;
  timespec atime{};
  timespec mtime{};
  dev_t dev = 0;
  ino_t ino = 0;
  nlink_t nlink = 1;
  dev_t rdev = 0;           // device nodes
  std::string link_target;  // symlinks: the target as written
};

struct Inventory {
  std::string top;  // the directory being pruned, inside the root ("/" by default)
  std::vector<InventoryEntry> entries;  // sorted by path: a directory before its children
  std::vector<Error> problems;          // unreadable directories and the like
  std::unordered_map<std::string, std::size_t> index;  // path -> position in entries
  // Directories listed but not entered: mount points (another file system,
  // or a bind mount) whose contents are not the tree's. Kept empty.
  std::vector<std::string> mount_points;
  // Paths the walk was told to leave out (take_inventory's `excluded`) that
  // exist: neither listed nor entered.
  std::vector<std::string> excluded;

  const InventoryEntry* find(const std::string& path) const;
  // What lstat and readlink said of `path` during the walk (a
  // Root::StatSnapshot): false when the walk did not see it.
  bool lstat(const std::string& path, struct stat& st, std::optional<std::string>& target) const;
  // Bytes of regular files, each hardlinked inode counted once.
  std::uint64_t total_bytes() const;
  std::size_t file_count() const;  // entries that are not directories
  // True when `path` is `top` or below it.
  bool contains(const std::string& path) const;
};

// Walk `top` (a canonical directory inside `root`) without following
// symlinks, on `jobs` threads (0: usable_cores(); at most 8; the result
// does not depend on how many). Unreadable directories are recorded in
// `problems` and skipped. `hidden`: names directly in `top` that are not
// tree content (elfprune's own in-place journal), left out. `excluded`:
// canonical paths anywhere below `top` left out with everything below them
// (--exclude, an --out directory inside the root). Mount points below
// `top` (another device, or listed in /proc/self/mountinfo) are recorded
// but not entered. Errors: `top` missing or not a directory.
Result<Inventory> take_inventory(const Root& root, const std::string& top = "/",
                                 const std::vector<std::string>& hidden = {}, unsigned jobs = 0,
                                 const std::unordered_set<std::string>& excluded = {});

// Mount points strictly below the host directory `host_dir`, as canonical
// paths inside it, from /proc/self/mountinfo (empty when unreadable).
std::unordered_set<std::string> mount_points_below(const std::string& host_dir);

}  // namespace elfprune
