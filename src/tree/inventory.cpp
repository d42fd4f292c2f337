#include "tree/inventory.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <new>
#include <ostream>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "util/fd.hpp"
#include "util/path.hpp"
#include "util/worker_pool.hpp"

namespace elfprune {
namespace {

InventoryEntry entry_of(const std::string& path, const struct stat& st) {
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

// An open directory, shared by the jobs that open names relative to it and
// closed when the last of them is done.
using OpenDir = Fd;

// Memory for the listings straight from the kernel, handed back whole when
// they have been spliced. Together they hold as many entries as the
// inventory (the splice moves them over); from malloc, interleaved with the
// paths that stay, a live system's listings (70 MB) stayed resident, freed
// but not reusable, for the rest of the run.
class MappedBlocks final : public std::pmr::memory_resource {
  void* do_allocate(std::size_t bytes, std::size_t) override {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;  // page-aligned: enough for any alignment asked
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t) override { ::munmap(p, bytes); }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

// Each walking thread's own pool of listing memory, in MappedBlocks: never
// shared, so never locked; freed only as a whole.
using ListingPool = std::pmr::monotonic_buffer_resource;
constexpr std::size_t kFirstPoolBlock = 64 * 1024;

// One directory's part of the inventory, filled by whichever thread lists
// it (in that thread's pool) and spliced into place once the walk is over.
struct Listing {
  explicit Listing(ListingPool& pool) : entries(&pool), subtrees(&pool) {}
  std::pmr::vector<InventoryEntry> entries;             // the directory's children, in name order
  std::pmr::vector<std::unique_ptr<Listing>> subtrees;  // entries[i]'s, for entered directories
  // Each problem with the number of entries (and their subtrees) before it,
  // so that problems keep the order a sequential walk reports them in.
  std::vector<std::pair<std::size_t, Error>> problems;

  void problem(Error e) { problems.emplace_back(entries.size(), std::move(e)); }
};

// A directory still to be listed. Its parent's fd is shared, not the
// directory's own: opening only when listing keeps the fds in use to the
// directories being worked on and their ancestors, however many siblings
// wait (a /usr/share/doc or a node_modules holds hundreds or thousands;
// the fd limit is often 1024).
struct Job {
  std::shared_ptr<const OpenDir> at;  // the parent, or the directory itself for the top
  std::string name;                   // in `at`; empty for the top
  std::string path;
  std::unique_ptr<Listing>* out = nullptr;  // made by the thread that lists it
};

// The directories waiting to be listed, a stack shared by the workers:
// last in, first out keeps each worker near the bottom of one branch, and
// so the open ancestors few.
class Walk {
 public:
  Walk(dev_t top_dev, const std::vector<std::string>& hidden,
       const std::unordered_set<std::string>& excluded,
       const std::unordered_set<std::string>& mounts)
      : top_dev_(top_dev), hidden_(hidden), excluded_(excluded), mounts_(mounts) {}

  void push_top(std::shared_ptr<const OpenDir> top, const std::string& path,
                std::unique_ptr<Listing>& out) {
    stack_.push_back(Job{std::move(top), "", path, &out});
    pending_ = 1;
  }

  // Lists directories until none is left, pending or being listed; the
  // listings in `pool`, which must outlive them. An exception from a listing
  // (out of memory) is thrown once the walk is over, not at once: the
  // other workers wait for this one's jobs to be counted done.
  void work(ListingPool& pool) {
    std::vector<char> buf(32 * 1024);
    std::vector<Job> children;
    std::exception_ptr failure;
    std::unique_lock lock(mutex_);
    for (;;) {
      more_.wait(lock, [this] { return !stack_.empty() || pending_ == 0; });
      if (stack_.empty()) break;
      Job job = std::move(stack_.back());
      stack_.pop_back();
      lock.unlock();
      children.clear();
      try {
        list(job, pool, buf, children);
      } catch (...) {
        children.clear();
        if (!failure) failure = std::current_exception();
      }
      job = Job{};  // its fds are closed outside the lock
      lock.lock();
      // The first child on top: this worker goes on with it.
      for (auto it = children.rbegin(); it != children.rend(); ++it) {
        stack_.push_back(std::move(*it));
      }
      pending_ += children.size();
      --pending_;
      if (children.size() > 1 || pending_ == 0) more_.notify_all();
    }
    lock.unlock();
    if (failure) std::rethrow_exception(failure);
  }

 private:
  void list(const Job& job, ListingPool& pool, std::vector<char>& buf,
            std::vector<Job>& children) const {
    *job.out = std::make_unique<Listing>(pool);
    Listing& out = **job.out;
    std::shared_ptr<const OpenDir> dir = job.at;
    if (!job.name.empty()) {
      // Relative to the parent's fd with O_NOFOLLOW, so a symlink swapped in
      // mid-walk is never followed out of the tree.
      int fd = ::openat(job.at->get(), job.name.c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        const int err = errno;
        out.problem(
            make_error(job.path, fmt::format("cannot open directory: {}", errno_text(err))));
        return;
      }
      dir = std::make_shared<const OpenDir>(fd);
    }
    std::vector<std::string> names;
    if (!read_names(dir->get(), buf, names)) {
      const int err = errno;
      out.problem(make_error(job.path, fmt::format("cannot list: {}", errno_text(err))));
      return;
    }
    std::sort(names.begin(), names.end());
    const bool in_top = job.name.empty();
    out.entries.reserve(names.size());
    out.subtrees.reserve(names.size());
    std::string link;
    for (const auto& name : names) {
      if (in_top && std::find(hidden_.begin(), hidden_.end(), name) != hidden_.end()) continue;
      struct stat st {};
      std::string path = path_join(job.path, name);
      if (!excluded_.empty() && excluded_.count(path) != 0) continue;
      if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        const int err = errno;
        out.problem(make_error(path, errno_text(err)));
        continue;
      }
      InventoryEntry e = entry_of(path, st);
      if (e.type == FileType::Symlink) {
        // Read into a buffer and copied at its length: a string resized down
        // keeps its capacity, 256 bytes more than the target for every link.
        link.resize(static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)) + 256);
        ssize_t n = ::readlinkat(dir->get(), name.c_str(), link.data(), link.size());
        if (n >= 0) e.link_target = std::string_view(link.data(), static_cast<std::size_t>(n));
      }
      // A mount point (a /proc or a bind mount inside the root) is recorded
      // but not entered: its contents are not the tree's, and pruning in
      // place must never reach into another filesystem.
      const bool enter = e.type == FileType::Directory && e.dev == top_dev_ &&
                         (mounts_.empty() || mounts_.count(path) == 0);
      out.entries.push_back(std::move(e));
      out.subtrees.emplace_back();
      // Reserved above: the slot stays where it is until the child fills it.
      if (enter) children.push_back(Job{dir, name, std::move(path), &out.subtrees.back()});
    }
  }

  // getdents64 straight on the directory's fd: no dup and fdopendir (and
  // their fcntl and second close) as readdir would need. False with errno
  // set when the kernel refuses.
  static bool read_names(int fd, std::vector<char>& buf, std::vector<std::string>& names) {
    for (;;) {
      const ssize_t n = ::getdents64(fd, buf.data(), buf.size());
      if (n < 0) return false;
      if (n == 0) return true;
      for (ssize_t off = 0; off < n;) {
        const auto* d = reinterpret_cast<const dirent64*>(buf.data() + off);
        off += d->d_reclen;
        const char* name = d->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
        names.emplace_back(name);
      }
    }
  }

  const dev_t top_dev_;
  const std::vector<std::string>& hidden_;
  const std::unordered_set<std::string>& excluded_;
  const std::unordered_set<std::string>& mounts_;
  std::mutex mutex_;
  std::condition_variable more_;
  std::vector<Job> stack_;
  std::size_t pending_ = 0;  // jobs on the stack or being listed
};

// The listings in walk order: each directory's children in name order, a
// directory's subtree right after it; problems where a sequential walk
// would have met them.
void splice(Listing& l, Inventory& inv) {
  std::size_t p = 0;
  for (std::size_t i = 0;; ++i) {
    for (; p < l.problems.size() && l.problems[p].first == i; ++p) {
      inv.problems.push_back(std::move(l.problems[p].second));
    }
    if (i == l.entries.size()) break;
    inv.entries.push_back(std::move(l.entries[i]));
    if (l.subtrees[i]) {
      splice(*l.subtrees[i], inv);
      // Freed as the splice goes: together, the listings are as large as
      // the inventory they are spliced into.
      l.subtrees[i].reset();
    }
  }
}

std::size_t count(const Listing& l) {
  std::size_t n = l.entries.size();
  for (const auto& s : l.subtrees) {
    if (s) n += count(*s);
  }
  return n;
}

}  // namespace

const std::string& LinkTarget::none() {
  static const std::string kEmpty;
  return kEmpty;
}

std::ostream& operator<<(std::ostream& out, const LinkTarget& target) {
  return out << target.str();
}

bool Inventory::lstat(const std::string& path, struct stat& st,
                      std::optional<std::string>& target) const {
  const InventoryEntry* e = find(path);
  if (e == nullptr) return false;
  st = {};
  st.st_mode = e->mode;
  st.st_size = static_cast<off_t>(e->size);
  st.st_uid = e->uid;
  st.st_gid = e->gid;
  st.st_atim = e->atime;
  st.st_mtim = e->mtime;
  st.st_dev = e->dev;
  st.st_ino = e->ino;
  st.st_nlink = e->nlink;
  st.st_rdev = e->rdev;
  // A symlink's size is its target's length: a shorter target was cut
  // short (or changed) and is read again.
  if (e->type == FileType::Symlink && e->link_target.size() == e->size) target = e->link_target;
  return true;
}

const InventoryEntry* Inventory::find(std::string_view path) const {
  auto it = index.find(path);
  return it == index.end() ? nullptr : &entries[it->second];
}

namespace {

std::uint64_t hash_of(std::string_view path) {
  return std::hash<std::string_view>{}(path);
}

}  // namespace

void PathIndex::catch_up() const {
  const std::vector<InventoryEntry>& entries = *entries_;
  if (indexed_ > entries.size()) indexed_ = 0;  // replaced wholesale: start again
  if (indexed_ == entries.size() && !slots_.empty()) return;
  unsigned bits = 4;
  while ((std::size_t{1} << bits) / 4 * 3 < entries.size()) ++bits;
  // Positions need `bits` bits; a few are left for the hash, at the very least.
  if (bits > 28) throw std::length_error("inventory too large to index");
  if (bits != bits_ || indexed_ == 0) {
    // Again from the first entry, so that the first of two equal paths is
    // the one found, as it was with the map.
    slots_.assign(std::size_t{1} << bits, 0);
    bits_ = bits;
    indexed_ = 0;
  }
  for (; indexed_ < entries.size(); ++indexed_) insert(indexed_);
}

PathIndex::Probe PathIndex::probe(std::string_view path) const {
  const std::uint64_t hash = hash_of(path);
  const std::uint32_t low = (std::uint32_t{1} << bits_) - 1;
  const auto tag = static_cast<std::uint32_t>(hash >> 32) & ~low;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t s = hash & mask;; s = (s + 1) & mask) {
    const std::uint32_t slot = slots_[s];
    if (slot == 0 || ((slot & ~low) == tag && (*entries_)[(slot & low) - 1].path == path)) {
      return {s, tag};
    }
  }
}

void PathIndex::insert(std::size_t position) const {
  const Probe p = probe((*entries_)[position].path);
  // A path already there keeps its first position, as the map did.
  if (slots_[p.slot] == 0) slots_[p.slot] = p.tag | static_cast<std::uint32_t>(position + 1);
}

PathIndex::Iterator PathIndex::find(std::string_view path) const {
  catch_up();
  const std::uint32_t slot = slots_[probe(path).slot];
  if (slot == 0) return end();
  const std::size_t position = (slot & ((std::uint32_t{1} << bits_) - 1)) - 1;
  return Iterator(Hit{(*entries_)[position].path, position});
}

std::size_t PathIndex::at(std::string_view path) const {
  auto it = find(path);
  if (it == end()) throw std::out_of_range(fmt::format("{}: not in the inventory", path));
  return it->second;
}

std::uint64_t Inventory::total_bytes() const {
  // Hardlinked files sorted by inode, rather than a set of the inodes seen:
  // a tree of hardlinked copies (cp -al) has as many as it has files.
  std::uint64_t total = 0;
  std::vector<std::size_t> linked;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const InventoryEntry& e = entries[i];
    if (e.type != FileType::Regular) continue;
    if (e.nlink > 1) {
      linked.push_back(i);
    } else {
      total += e.size;
    }
  }
  std::sort(linked.begin(), linked.end(), [this](std::size_t a, std::size_t b) {
    const InventoryEntry& x = entries[a];
    const InventoryEntry& y = entries[b];
    return std::tie(x.dev, x.ino, a) < std::tie(y.dev, y.ino, b);
  });
  for (std::size_t k = 0; k < linked.size(); ++k) {
    const InventoryEntry& e = entries[linked[k]];
    // The first name of each inode, in inventory order, counts its bytes.
    if (k == 0 || e.dev != entries[linked[k - 1]].dev || e.ino != entries[linked[k - 1]].ino) {
      total += e.size;
    }
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

std::unordered_set<std::string> mount_points_below(const std::string& host_dir) {
  std::unordered_set<std::string> out;
  FILE* f = std::fopen("/proc/self/mountinfo", "re");
  if (f == nullptr) return out;
  std::string prefix = host_dir;
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  char* line = nullptr;
  std::size_t cap = 0;
  while (::getline(&line, &cap, f) > 0) {
    // ID PARENT MAJ:MIN ROOT MOUNT-POINT ...: the fifth field, with spaces,
    // tabs, newlines and backslashes written as \ooo.
    std::string_view rest(line);
    for (int field = 0; field < 4 && !rest.empty(); ++field) {
      const auto sp = rest.find(' ');
      rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    }
    const std::string_view raw = rest.substr(0, rest.find(' '));
    std::string point;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 3 < raw.size()) {
        const auto oct = raw.substr(i + 1, 3);
        if (oct.size() == 3 &&
            std::all_of(oct.begin(), oct.end(), [](char c) { return c >= '0' && c <= '7'; })) {
          point.push_back(
              static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0')));
          i += 3;
          continue;
        }
      }
      point.push_back(raw[i]);
    }
    if (prefix == "/") {
      if (point.size() > 1 && point.front() == '/') out.insert(point);
    } else if (point.size() > prefix.size() + 1 && point.compare(0, prefix.size(), prefix) == 0 &&
               point[prefix.size()] == '/') {
      out.insert(point.substr(prefix.size()));
    }
  }
  std::free(line);
  std::fclose(f);
  return out;
}

Result<Inventory> take_inventory(const Root& root, const std::string& top,
                                 const std::vector<std::string>& hidden, unsigned jobs,
                                 const std::unordered_set<std::string>& excluded) {
  auto st = root.resolve(top);
  ELFPRUNE_TRY(st);
  if (st->type != FileType::Directory) return make_error(top, "not a directory");
  Inventory inv;
  inv.top = st->path;
  const std::string host = root.host(st->path).string();
  int fd = ::open(host.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return make_error(top, fmt::format("cannot open directory: {}", errno_text(errno)));
  auto top_dir = std::make_shared<const OpenDir>(fd);
  struct stat tst {};
  if (::fstat(fd, &tst) == 0) inv.entries.push_back(entry_of(inv.top, tst));
  // Mount points on the same device (bind mounts) are not entered either;
  // the host's view of them is what the kernel reports for the root's dir.
  const std::unordered_set<std::string> mounts = mount_points_below(root.host_dir().string());
  {
    MappedBlocks blocks;
    std::deque<ListingPool> pools;     // one per thread; a deque, so that they stay put
    std::unique_ptr<Listing> listing;  // destroyed before the pools it lies in
    {
      Walk walk(tst.st_dev, hidden, excluded, mounts);
      walk.push_top(std::move(top_dir), inv.top, listing);
      // The walk is syscall-bound (an fstatat per entry, an openat and
      // getdents64 per directory): several threads overlap them. The calling
      // thread is one of them, so the walk completes without any other.
      WorkerPool workers(std::clamp(jobs_or_cores(jobs), 1U, 8U));
      for (unsigned t = 0; t < workers.size(); ++t) pools.emplace_back(kFirstPoolBlock, &blocks);
      // A task a thread, each listing directories until the walk is done; one
      // whose thread comes late (or never) finds nothing left to do.
      workers.run(workers.size(),
                  [&walk, &pools](std::size_t, unsigned worker) { walk.work(pools[worker]); });
    }
    if (listing) {
      inv.entries.reserve(inv.entries.size() + count(*listing));
      splice(*listing, inv);
    }
  }
  // Sorted by path with '/' ordered first (as if it were '\0', the one byte
  // no name holds), so that a directory's subtree is contiguous and follows
  // the directory itself: the splice gives that order, depth first with
  // each directory's names in byte order ("a", then a's subtree, then
  // "a.b" and "a\x01b", which a plain sort of whole paths would interleave).
  for (std::size_t i = 1; i < inv.entries.size(); ++i) {
    const InventoryEntry& e = inv.entries[i];
    if (e.type == FileType::Directory && (e.dev != tst.st_dev || mounts.count(e.path) != 0))
      inv.mount_points.push_back(e.path);
  }
  // Indexed now, so that the lookups of the passes running side by side
  // only read it.
  inv.index.catch_up();
  for (const auto& x : excluded) {
    if (root.resolve(x, false)) inv.excluded.push_back(x);
  }
  std::sort(inv.excluded.begin(), inv.excluded.end());
  return inv;
}

}  // namespace elfprune
