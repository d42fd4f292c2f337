// One walk over the tree to prune: every entry's type, size, mode, owner,
// times and link identity. Special files are noted, never opened.
#pragma once

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tree/root.hpp"
#include "util/result.hpp"

namespace elfprune {

// A symlink's target as written, or "". Held out of line: few entries are
// symlinks (one in forty on a Debian system's /), and a std::string in
// every entry cost 24 bytes more than this pointer. Reads like a const
// std::string (str(), a std::string_view, a std::string, fmt, ==), so the
// passes use it as they used the string; assigned from a string.
class LinkTarget {
 public:
  LinkTarget() = default;
  LinkTarget(const LinkTarget& other) { *this = other.str(); }
  LinkTarget(LinkTarget&&) noexcept = default;
  LinkTarget& operator=(const LinkTarget& other) {
    if (this != &other) *this = other.str();
    return *this;
  }
  LinkTarget& operator=(LinkTarget&&) noexcept = default;
  ~LinkTarget() = default;
  LinkTarget& operator=(std::string_view target) {
    if (target.empty()) {
      text_.reset();
    } else {
      text_ = std::make_unique<const std::string>(target);
    }
    return *this;
  }

  const std::string& str() const { return text_ ? *text_ : none(); }
  // Implicit, on purpose: wherever the string was passed, this still is.
  operator const std::string&() const { return str(); }
  operator std::string_view() const { return str(); }
  const char* c_str() const { return str().c_str(); }
  const char* data() const { return str().data(); }
  std::size_t size() const { return str().size(); }
  bool empty() const { return !text_; }
  friend bool operator==(const LinkTarget& a, std::string_view b) { return a.str() == b; }

 private:
  static const std::string& none();
  std::unique_ptr<const std::string> text_;
};

std::ostream& operator<<(std::ostream& out, const LinkTarget& target);

// Ordered so that no padding falls between the fields: an inventory of a
// whole system holds hundreds of thousands of these (128 bytes each on
// x86-64).
struct InventoryEntry {
  std::string path;        // absolute inside the root, no symlinks in its directories
  LinkTarget link_target;  // symlinks: the target as written
  std::uint64_t size = 0;  // st_size
  timespec atime{};
  timespec mtime{};
  dev_t dev = 0;
  ino_t ino = 0;
  nlink_t nlink = 1;
  dev_t rdev = 0;   // device nodes
  mode_t mode = 0;  // full st_mode
  uid_t uid = 0;
  gid_t gid = 0;
  FileType type = FileType::Other;
};

// Each entry's position by its path, without a copy of the path: open
// addressing over 32-bit slots (the position, and a few bits of the path's
// hash), the path itself read from the entry. The
// std::unordered_map<std::string, std::size_t> it replaces copied every
// path into a node of its own, as many bytes again as the entry itself (a
// live system's inventory holds ~450,000). Used like that map:
// find(path)->second, find(path) == end(), at(path), count(path).
//
// Entries appended after the last lookup are indexed by the next one (tests
// build inventories by hand); changing or removing entries once looked up
// is not supported. take_inventory indexes everything before it returns, so
// lookups from several threads only read.
class PathIndex {
 public:
  struct Hit {
    std::string_view first;  // the path
    std::size_t second = 0;  // its position in Inventory::entries
  };
  class Iterator {
   public:
    Iterator() = default;
    const Hit& operator*() const { return hit_; }
    const Hit* operator->() const { return &hit_; }
    bool operator==(const Iterator& other) const { return hit_.second == other.hit_.second; }

   private:
    friend class PathIndex;
    explicit Iterator(Hit hit) : hit_(hit) {}
    Hit hit_{{}, kNone};
  };

  Iterator find(std::string_view path) const;
  Iterator end() const { return Iterator(); }
  std::size_t at(std::string_view path) const;  // std::out_of_range when absent
  std::size_t count(std::string_view path) const { return find(path) == end() ? 0 : 1; }
  // Indexes the entries appended since the last call (or lookup).
  void catch_up() const;

 private:
  friend struct Inventory;
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  explicit PathIndex(const std::vector<InventoryEntry>& entries) : entries_(&entries) {}
  PathIndex(const PathIndex& other, const std::vector<InventoryEntry>& entries)
      : entries_(&entries), slots_(other.slots_), bits_(other.bits_), indexed_(other.indexed_) {}
  PathIndex(PathIndex&& other, const std::vector<InventoryEntry>& entries) noexcept
      : entries_(&entries),
        slots_(std::move(other.slots_)),
        bits_(other.bits_),
        indexed_(other.indexed_) {
    other.indexed_ = 0;
  }
  void take(const PathIndex& other) {
    slots_ = other.slots_;
    bits_ = other.bits_;
    indexed_ = other.indexed_;
  }
  void take(PathIndex&& other) noexcept {
    slots_ = std::move(other.slots_);
    bits_ = other.bits_;
    indexed_ = other.indexed_;
    other.slots_.clear();
    other.indexed_ = 0;
  }
  // The slot holding `path`, or the empty one where it would go, and the
  // hash bits stored beside a position there.
  struct Probe {
    std::size_t slot;
    std::uint32_t tag;
  };
  Probe probe(std::string_view path) const;
  void insert(std::size_t position) const;

  const std::vector<InventoryEntry>* entries_;
  // 2^bits_ of them, at most three quarters full: position + 1 in the low
  // bits_ bits (0: free), the top bits of the path's hash above, so that
  // most slots of other paths are passed without reading their entry.
  mutable std::vector<std::uint32_t> slots_;
  mutable unsigned bits_ = 0;
  mutable std::size_t indexed_ = 0;  // entries[0, indexed_) are in slots_
};

// What the walk found; Inventory adds the index over `entries`.
struct InventoryData {
  std::string top;  // the directory being pruned, inside the root ("/" by default)
  std::vector<InventoryEntry> entries;  // sorted by path: a directory before its children
  std::vector<Error> problems;          // unreadable directories and the like
  // Directories listed but not entered: mount points (another file system,
  // or a bind mount) whose contents are not the tree's. Kept empty.
  std::vector<std::string> mount_points;
  // Paths the walk was told to leave out (take_inventory's `excluded`) that
  // exist: neither listed nor entered.
  std::vector<std::string> excluded;
};

struct Inventory : InventoryData {
  PathIndex index{entries};  // path -> position in entries

  Inventory() = default;
  explicit Inventory(std::string top_dir) { top = std::move(top_dir); }
  // The index follows its entries.
  Inventory(const Inventory& other) : InventoryData(other), index(other.index, entries) {}
  Inventory(Inventory&& other) noexcept
      : InventoryData(std::move(other)), index(std::move(other.index), entries) {}
  Inventory& operator=(const Inventory& other) {
    if (this != &other) {
      InventoryData::operator=(other);
      index.take(other.index);
    }
    return *this;
  }
  Inventory& operator=(Inventory&& other) noexcept {
    if (this != &other) {
      InventoryData::operator=(std::move(other));
      index.take(std::move(other.index));
    }
    return *this;
  }
  ~Inventory() = default;

  const InventoryEntry* find(std::string_view path) const;
  // What lstat and readlink said of `path` during the walk (a
  // Root::StatSnapshot): false when the walk did not see it.
  bool lstat(const std::string& path, struct stat& st, std::optional<std::string>& target) const;
  // Bytes of regular files, each hardlinked inode counted once.
  std::uint64_t total_bytes() const;
  std::size_t file_count() const;  // entries that are not directories
  // True when `path` is `top` or below it.
  bool contains(const std::string& path) const;

  // visit(entry, path relative to `dir`) for each entry strictly below the
  // directory `dir`, in order: entries come sorted, a directory right
  // before its subtree, so the walk ends at the first entry outside it.
  template <class Visit>
  void for_each_below(const std::string& dir, Visit&& visit) const {
    auto it = index.find(dir);
    if (it == index.end()) return;
    const std::size_t skip = dir == "/" ? 1 : dir.size() + 1;
    for (std::size_t i = it->second + 1; i < entries.size(); ++i) {
      const InventoryEntry& e = entries[i];
      if (e.path.size() <= skip || e.path.compare(0, dir.size(), dir) != 0 ||
          e.path[skip - 1] != '/') {
        break;
      }
      visit(e, std::string_view(e.path).substr(skip));
    }
  }
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

template <>
struct fmt::formatter<elfprune::LinkTarget> : fmt::formatter<std::string_view> {
  auto format(const elfprune::LinkTarget& target, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(target.str(), ctx);
  }
};
