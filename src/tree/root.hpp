// A directory that holds a root filesystem, and path resolution inside it
// with chroot semantics. Every path that comes from the tree (symlink
// targets, RPATH entries, cache entries, interpreter names) goes through
// here, so nothing outside the root is ever read because the tree said so.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "util/fd.hpp"
#include "util/path.hpp"
#include "util/result.hpp"

namespace elfprune {

enum class FileType { Regular, Directory, Symlink, Fifo, Socket, CharDevice, BlockDevice, Other };

struct FileStat {
  std::string path;  // canonical path inside the root: no symlinks, no `.` or `..`
  FileType type = FileType::Other;
  dev_t dev = 0;
  ino_t ino = 0;
  std::uint64_t size = 0;
  mode_t mode = 0;
  // Canonical paths of the symlinks followed on the way, in order: keeping
  // a file that was named through them means keeping them too.
  std::vector<std::string> symlinks;
};

// The FileType of an st_mode.
FileType file_type_of(mode_t mode);

// A read-only view of a whole file, mapped rather than copied: scanning a
// 47 MB library for path strings should not first zero-fill and copy 47 MB.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(void* addr, std::size_t size) : addr_(addr), size_(size) {}
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view bytes() const {
    return addr_ == nullptr ? std::string_view()
                            : std::string_view(static_cast<const char*>(addr_), size_);
  }

 private:
  void* addr_ = nullptr;
  std::size_t size_ = 0;
};

class Root {
 public:
  // `host_dir` is where the root lies on this machine; it is made absolute
  // and canonical. "/" is a valid root.
  explicit Root(const std::filesystem::path& host_dir);

  const std::filesystem::path& host_dir() const { return host_dir_; }

  // The host path of a canonical inside path. Only call it with a path that
  // came from `resolve`, or symlinks in it could lead outside the root.
  std::filesystem::path host(std::string_view canonical) const;

  // Resolve `path` (absolute, or relative to `/` of the root) the way the
  // kernel would after chroot(2): symlinks are followed (absolute targets are
  // re-rooted), `..` never climbs above `/`, and more than 40 symlinks is a
  // loop. With `follow_last` false the final component is not followed.
  // Errors: "no such file or directory", "not a directory",
  // "too many levels of symbolic links", "permission denied".
  Result<FileStat> resolve(std::string_view path, bool follow_last = true) const;

  // Shortcut: the canonical path of an existing file, or an error.
  Result<std::string> realpath(std::string_view path) const;

  bool exists(std::string_view path) const { return resolve(path).ok(); }
  bool is_directory(std::string_view path) const;

  // The first `n` bytes of a canonical path (from `resolve`), without
  // following a final symlink or blocking on a FIFO; "" when unreadable.
  // Remembered (for n up to 256) with remember_stats().
  std::string read_head(std::string_view canonical, std::size_t n) const;

  // Map a whole regular file (symlinks resolved inside the root) read-only.
  Result<MappedFile> map_file(std::string_view path) const;

  // Resolve `path` and open it as a regular file, read-only.
  Result<PreadFile> open_regular(std::string_view path) const;

  // Read a whole file (symlinks resolved inside the root), at most `limit` bytes.
  Result<std::string> read_file(std::string_view path, std::size_t limit = 64u << 20) const;

  // A view of this root in which the given canonical paths (and everything
  // below them) do not exist: how a plan's result looks before it is
  // written, so that a dry run can be verified exactly like a real one.
  Root without(std::shared_ptr<const std::unordered_set<std::string>> hidden) const;

  // Where the tree stops, for this root and its copies: below a `sealed`
  // directory (a mount point: /proc, /sys, a bind mount) nothing exists, the
  // directory itself does; an `excluded` path (--exclude, an --out inside
  // the root) does not exist at all. So no path string, symlink or search
  // path leads into a live system's /proc or into the output being written.
  struct Boundaries {
    std::unordered_set<std::string> sealed;    // canonical directories
    std::unordered_set<std::string> excluded;  // canonical paths
  };
  void set_boundaries(std::shared_ptr<const Boundaries> boundaries);

  // From now on, this root and its copies (and `without` views) remember
  // what lstat and readlink said about each path, so that a pass over
  // thousands of paths sharing the same directories asks the kernel once
  // per path rather than once per component each time. For a tree that does
  // not change while it is read (a prune run, whose inventory is a snapshot
  // anyway); safe to use from several threads.
  void remember_stats();

  // What a walk of the tree (the inventory) saw, asked before the kernel
  // when remember_stats() is on: for a canonical path it holds, fills `st`
  // and, for a symlink whose target it read whole, `target`, and returns
  // true. Consulted in place rather than copied into the memo (copying
  // 11,000 entries cost more than the lookups it saved). It must not change
  // while this root or its copies resolve, and must outlive their lookups.
  using StatSnapshot = std::function<bool(const std::string& canonical, struct stat& st,
                                          std::optional<std::string>& target)>;
  void use_snapshot(StatSnapshot snapshot);

 private:
  struct StatMemo;
  struct LinkStat {
    int err = 0;  // errno of lstat, 0 when it succeeded
    struct stat st {};
  };
  // lstat and readlink of a canonical path, through the memo when there is one.
  LinkStat lstat_of(const std::string& canonical) const;
  Result<std::string> link_of(const std::string& canonical, const std::string& display) const;
  std::string read_head_now(std::string_view canonical, std::size_t n) const;

  bool is_hidden(const std::string& canonical) const {
    return hidden_ && hidden_->count(canonical) != 0;
  }
  // Outside the tree's boundaries: excluded, or below a sealed directory.
  bool is_beyond(const std::string& canonical) const;

  std::shared_ptr<const Boundaries> boundaries_;

  std::shared_ptr<const std::unordered_set<std::string>> hidden_;
  std::shared_ptr<StatMemo> memo_;
  std::filesystem::path host_dir_;
  std::string host_prefix_;  // host_dir_ without a trailing slash; "" for "/"
};

}  // namespace elfprune
