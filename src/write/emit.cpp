// Writing a plan out: a fresh tree (--out), the same tree pruned in place
// (--in-place), or nothing (--dry-run).
//
// Every file-system call is an *at() call relative to a directory fd that was
// opened one component at a time with O_NOFOLLOW, from the root's host
// directory or from OUT. A symlink in the tree (planted after the inventory,
// or one we recreated in OUT) therefore never redirects a read, a write or a
// removal: it makes that one path fail with a problem instead.
#include "write/emit.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>  // FICLONE
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "util/dir_chain.hpp"
#include "util/worker_pool.hpp"

namespace fs = std::filesystem;

namespace elfprune {
namespace {

// The one xattr that changes what a program may do at run time (ping's
// cap_net_raw). user.* is informational, trusted.* needs CAP_SYS_ADMIN and
// holds overlayfs state that must not be copied, security.selinux and IMA
// labels belong to the policy of the machine that runs the result.
constexpr const char* kCapabilityXattr = "security.capability";

Error failure(const std::string& path, std::string message) {
  return make_error(path, std::move(message), ErrorKind::Failed);
}

// ---------------------------------------------------------------------------
// --out

bool is_within(const fs::path& path, const fs::path& dir) {
  auto [d, p] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  // A trailing "" element (from "dir/") matches anything.
  return d == dir.end() || (std::next(d) == dir.end() && d->empty());
}

bool is_empty_dir(int fd) {
  DIR* d = ::fdopendir(::dup(fd));
  if (d == nullptr) return false;
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

// Check OUT against the tree being pruned, create it, and return an fd of
// it. OUT may lie inside the tree only where the inventory left it out
// (the pipeline excludes it), so it is never copied into itself.
Result<Fd> open_out_dir(const Root& root, const Inventory& inv, const std::string& out_dir) {
  if (out_dir.empty()) return make_error(out_dir, "no output directory given", ErrorKind::Usage);
  std::error_code ec;
  const fs::path out = fs::weakly_canonical(fs::absolute(out_dir, ec), ec);
  if (ec) {
    return make_error(out_dir, fmt::format("cannot resolve: {}", ec.message()), ErrorKind::Usage);
  }
  const fs::path tree = fs::weakly_canonical(root.host(inv.top), ec);
  if (is_within(out, tree)) {
    const std::string whole = root.host_dir().string();
    const std::string inside =
        whole == "/" ? out.string()
                     : out.string().substr(std::min(whole.size(), out.string().size()));
    if (out == tree || inv.find(inside.empty() ? "/" : inside) != nullptr) {
      return make_error(
          out_dir, fmt::format("lies inside the root {} and was not left out of it", tree.string()),
          ErrorKind::Usage);
    }
  }
  if (is_within(tree, out)) {
    return make_error(out_dir, fmt::format("holds the root {}", tree.string()), ErrorKind::Usage);
  }
  if (::mkdir(out.c_str(), 0755) != 0 && errno != EEXIST) {
    return failure(out_dir, fmt::format("cannot create: {}", errno_text(errno)));
  }
  Fd fd(::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.ok()) {
    if (errno == ENOTDIR) return make_error(out_dir, "not a directory", ErrorKind::Usage);
    return failure(out_dir, fmt::format("cannot open: {}", errno_text(errno)));
  }
  if (!is_empty_dir(fd.get()))
    return make_error(out_dir, "exists and is not empty", ErrorKind::Usage);
  return fd;
}

// --out is written in three steps, so that the copies, which are most of
// the time, run on several cores:
//   1. in inventory order: directories (parents first), and the list of the
//      other entries to create;
//   2. those (copies of regular files, symlinks, special files: each an
//      inode to allocate, which is where ext4 spends its time), spread over
//      a few workers, each with its own directory chains (a chain is a set
//      of open fds, not shareable);
//   3. in order again: hardlinks, whose first name exists by now, then the
//      directory metadata, deepest first.
// Each problem carries the inventory index of its entry and they are sorted
// by it at the end, so the report does not depend on which worker copied
// which file.

// What one thread writes with: its directory chains, and what it saw.
struct Lane {
  Lane(int src_base, int out_base) : src(src_base), out(out_base), links(out_base) {}

  // Records a per-path failure; false so that `return problem(...)` ends a step.
  bool problem(const std::string& path, std::string message) {
    problems.emplace_back(index, failure(path, std::move(message)));
    return false;
  }

  DirChain src, out, links;
  std::size_t index = 0;  // the inventory entry being written
  std::vector<std::pair<std::size_t, Error>> problems;
  std::size_t files = 0;
  std::uint64_t bytes = 0;
};

constexpr std::size_t kAfterEntries = std::numeric_limits<std::size_t>::max();
// Copies at least this big go first, so that a 50 MB library does not start
// last and leave the other workers idle.
constexpr std::uint64_t kBigFile = 1u << 20;

class OutWriter {
 public:
  OutWriter(const Inventory& inv, const std::vector<bool>& keep, const EmitOptions& options,
            int src_base, int out_fd)
      : inv_(inv),
        keep_(keep),
        options_(options),
        src_base_(src_base),
        out_fd_(out_fd),
        main_(src_base, out_fd),
        written_(inv.entries.size(), 0),
        as_root_(::geteuid() == 0) {}

  EmitStats run() {
    struct stat st {};
    ::fstat(out_fd_, &st);
    const mode_t out_mode = st.st_mode & 07777;
    // Nobody else may plant anything in OUT while we write; restored below.
    ::fchmod(out_fd_, 0700);
    const std::size_t total = inv_.entries.size();
    for (std::size_t i = 0; i < total; ++i) {
      if (!keep_[i] || !prepare(i)) advance();
    }
    copy_all();
    for (std::size_t i : links_) {
      link_or_create(i);
      advance();
    }
    main_.src.truncate(0);  // the final pass opens its own chain: at most one at a time
    main_.out.truncate(0);
    main_.links.truncate(0);
    main_.index = kAfterEntries;
    finish_directories();
    if (const InventoryEntry* top = inv_.find("/"); top != nullptr && keep_[inv_.index.at("/")]) {
      set_metadata(main_, out_fd_, "/", *top);
    } else {
      ::fchmod(out_fd_, out_mode);
    }
    if (options_.progress && total == 0) options_.progress(0, 0);
    return merge();
  }

 private:
  // Step 1 for one kept entry. True when the entry was left for a later
  // step (a copy or a hardlink), which then counts it as done.
  bool prepare(std::size_t i) {
    const InventoryEntry& e = inv_.entries[i];
    main_.index = i;
    const auto comps = path_components(e.path);
    if (comps.empty()) return false;  // "/" is OUT itself, finished last
    const std::size_t depth_before = created_.size();
    std::vector<std::size_t> made;
    const std::size_t parent_n = comps.size() - 1;
    const bool is_dir = e.type == FileType::Directory;
    DirChain::Step step = main_.out.open(comps, is_dir ? comps.size() : parent_n, &made);
    for (std::size_t k : made) created_.push_back(path_of_components(comps, k + 1));
    if (step.err != 0) return main_.problem(e.path, chain_message(main_.out, comps, step));
    if (is_dir) {
      if (created_.size() == depth_before || created_.back() != e.path) {
        main_.problem(e.path, "already exists in the output");
      }
      return false;
    }
    if (e.nlink > 1 && !first_links_.try_emplace({e.dev, e.ino}, i).second) {
      links_.push_back(i);
      return true;
    }
    copies_.push_back(i);
    return true;
  }

  // Step 3 for a second name of an inode: a hardlink to the first, or, when
  // the first could not be written, the entry itself (and it becomes the
  // name later ones link to).
  void link_or_create(std::size_t i) {
    const InventoryEntry& e = inv_.entries[i];
    main_.index = i;
    const auto comps = path_components(e.path);
    DirChain::Step step = main_.out.open(comps, comps.size() - 1);
    if (step.err != 0) return void(main_.problem(e.path, chain_message(main_.out, comps, step)));
    std::size_t& current = first_links_[{e.dev, e.ino}];
    if (written_[current] != 0) {
      if (make_hardlink(main_, e, inv_.entries[current].path, step.fd, comps.back())) {
        ++main_.files;
      }
      return;
    }
    if (create(main_, i, comps, step.fd)) current = i;
  }

  // Step 2: the copies and other leaves, on as many workers as are useful,
  // handed out a directory at a time. Creating a name holds its directory's
  // lock while the file system looks for a free inode, and ext4 without a
  // journal skips every inode freed in the last minutes, one by one, for
  // each new inode: after a large deletion nearby, two workers in one
  // directory mostly take turns (and the waiting one spins). In different
  // directories they do not wait for each other. Big files go first, each
  // its own job, then directories with the most entries, so that no long
  // job starts last; a directory holding more than a share of all entries
  // (a flat lib/ or node_modules/.bin) is cut into several jobs, so that
  // it cannot leave the other workers idle.
  void copy_all() {
    const auto big = [this](std::size_t i) {
      const InventoryEntry& e = inv_.entries[i];
      return e.type == FileType::Regular && e.size >= kBigFile;
    };
    const auto parent = [this](std::size_t i) {
      const std::string_view p = inv_.entries[i].path;
      return p.substr(0, p.rfind('/'));
    };
    const auto small = std::stable_partition(copies_.begin(), copies_.end(), big);
    std::stable_sort(copies_.begin(), small, [this](std::size_t a, std::size_t b) {
      return inv_.entries[a].size > inv_.entries[b].size;
    });
    std::stable_sort(small, copies_.end(),
                     [&](std::size_t a, std::size_t b) { return parent(a) < parent(b); });
    struct Job {
      std::size_t begin, end;
    };
    std::size_t want = options_.threads != 0 ? options_.threads : std::size_t{usable_cores()};
    const auto first_small = static_cast<std::size_t>(small - copies_.begin());
    // A quarter of each worker's share of the small entries, and not tiny.
    const std::size_t most = std::max<std::size_t>(
        64, (copies_.size() - first_small) / (4 * std::clamp<std::size_t>(want, 1, 1024)));
    std::vector<Job> jobs;
    for (std::size_t j = 0; j < first_small; ++j) jobs.push_back({j, j + 1});
    for (std::size_t j = first_small; j < copies_.size();) {
      std::size_t k = j + 1;
      while (k < copies_.size() && k - j < most && parent(copies_[k]) == parent(copies_[j])) ++k;
      jobs.push_back({j, k});
      j = k;
    }
    std::stable_sort(jobs.begin() + static_cast<std::ptrdiff_t>(first_small), jobs.end(),
                     [](const Job& a, const Job& b) { return a.end - a.begin > b.end - b.begin; });
    want = std::clamp<std::size_t>(want, 1, std::max<std::size_t>(jobs.size(), 1));
    WorkerPool workers(static_cast<unsigned>(want));
    // A lane a thread (a chain of fds is not shared); main_ is one of them.
    std::deque<Lane> lanes;
    for (unsigned t = 1; t < workers.size(); ++t) lanes.emplace_back(src_base_, out_fd_);
    workers.run(jobs.size(), [&](std::size_t n, unsigned worker) {
      Lane& lane = worker == 0 ? main_ : lanes[worker - 1];
      for (std::size_t j = jobs[n].begin; j < jobs[n].end; ++j) {
        const std::size_t i = copies_[j];
        const InventoryEntry& e = inv_.entries[i];
        lane.index = i;
        const auto comps = path_components(e.path);
        DirChain::Step step = lane.out.open(comps, comps.size() - 1);
        if (step.err != 0) {
          lane.problem(e.path, chain_message(lane.out, comps, step));
        } else {
          create(lane, i, comps, step.fd);
        }
        advance();
      }
    });
    for (Lane& lane : lanes) {
      for (auto& p : lane.problems) main_.problems.push_back(std::move(p));
      main_.files += lane.files;
      main_.bytes += lane.bytes;
    }
  }

  // One more entry done, for the progress line (called from any worker).
  void advance() {
    std::lock_guard lock(progress_mutex_);
    report_progress(options_, ++done_, inv_.entries.size());
  }

  EmitStats merge() {
    std::stable_sort(main_.problems.begin(), main_.problems.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    EmitStats stats;
    stats.files_written = main_.files;
    stats.bytes_written = main_.bytes;
    for (auto& p : main_.problems) stats.problems.push_back(std::move(p.second));
    return stats;
  }

  bool create(Lane& lane, std::size_t i, const std::vector<std::string>& comps, int dir) {
    const InventoryEntry& e = inv_.entries[i];
    const std::string& name = comps.back();
    bool ok = false;
    switch (e.type) {
      case FileType::Regular:
        ok = copy_regular(lane, e, comps, dir, name);
        break;
      case FileType::Symlink:
        ok = make_symlink(lane, e, dir, name);
        break;
      case FileType::Fifo:
      case FileType::CharDevice:
      case FileType::BlockDevice:
        ok = make_node(lane, e, dir, name);
        break;
      case FileType::Socket:
        return lane.problem(e.path, "socket not recreated");
      default:
        return lane.problem(e.path, "unsupported file type, not recreated");
    }
    if (ok) {
      written_[i] = 1;
      ++lane.files;
    }
    return ok;
  }

  bool copy_regular(Lane& lane, const InventoryEntry& e, const std::vector<std::string>& comps,
                    int out_dir, const std::string& name) {
    DirChain::Step s = lane.src.open(comps, comps.size() - 1);
    if (s.err != 0) return lane.problem(e.path, chain_message(lane.src, comps, s));
    // O_NONBLOCK: a FIFO swapped in since the inventory must not hang us.
    const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    // O_NOATIME keeps the source's atime as it was; only the owner or root may ask.
    int raw = ::openat(s.fd, name.c_str(), flags | O_NOATIME);
    if (raw < 0 && errno == EPERM) raw = ::openat(s.fd, name.c_str(), flags);
    Fd in(raw);
    if (!in.ok()) return lane.problem(e.path, fmt::format("cannot open: {}", errno_text(errno)));
    struct stat st {};
    if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != e.dev ||
        st.st_ino != e.ino) {
      return lane.problem(e.path, "changed since the inventory, not copied");
    }
    Fd out(::openat(out_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0600));
    if (!out.ok()) return lane.problem(e.path, fmt::format("cannot create: {}", errno_text(errno)));
    auto copied = copy_data(in.get(), out.get(), static_cast<std::uint64_t>(st.st_size));
    if (!copied) return lane.problem(e.path, copied.error().message);
    lane.bytes += *copied;
    // Ownership first: chown clears setuid/setgid and file capabilities.
    set_metadata(lane, out.get(), e.path, e);
    char cap[64];
    ssize_t n = ::fgetxattr(in.get(), kCapabilityXattr, cap, sizeof cap);
    if (n > 0 &&
        ::fsetxattr(out.get(), kCapabilityXattr, cap, static_cast<std::size_t>(n), 0) != 0) {
      lane.problem(e.path, fmt::format("cannot set {}: {}", kCapabilityXattr, errno_text(errno)));
    } else if (n < 0 && errno != ENODATA && errno != ENOTSUP) {
      lane.problem(e.path, fmt::format("cannot read {}: {}", kCapabilityXattr, errno_text(errno)));
    }
    // Times last: the writes above changed them.
    const timespec times[2] = {e.atime, e.mtime};
    if (::futimens(out.get(), times) != 0) {
      lane.problem(e.path, fmt::format("cannot set times: {}", errno_text(errno)));
    }
    return true;
  }

  // A reflink when the file system can; copy_file_range, or read/write
  // where that is not supported (across file systems on old kernels, procfs).
  // `size`: what fstat said; copy_file_range stops there rather than asking
  // once more to be told the end was reached.
  Result<std::uint64_t> copy_data(int in, int out, std::uint64_t size) {
    if (reflink_.load(std::memory_order_relaxed)) {
      if (::ioctl(out, FICLONE, in) == 0) {
        struct stat st {};
        ::fstat(out, &st);
        return static_cast<std::uint64_t>(st.st_size);
      }
      // Not this file system (ext4), or not between these two: stop asking.
      if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EXDEV || errno == ENOSYS) {
        reflink_.store(false, std::memory_order_relaxed);
      }
    }
    std::uint64_t total = 0;
    for (;;) {
      ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, std::size_t{1} << 30, 0);
      if (n > 0) {
        total += static_cast<std::uint64_t>(n);
        if (total >= size) return total;
        continue;
      }
      if (n == 0 && total > 0) return total;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) {
        return failure("", fmt::format("cannot copy: {}", errno_text(errno)));
      }
      break;  // unsupported, or 0 at offset 0 (empty, or a file system that lies)
    }
    // One buffer per thread, made on first need: most files never get here
    // but the empty ones, which should not cost a megabyte each.
    thread_local std::vector<char> buf;
    if (buf.empty()) buf.resize(std::size_t{1} << 20);
    for (;;) {
      ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return failure("", fmt::format("cannot read: {}", errno_text(errno)));
      if (n == 0) return total;
      ELFPRUNE_TRY(write_all(out, std::string_view(buf.data(), static_cast<std::size_t>(n)), ""));
      total += static_cast<std::uint64_t>(n);
    }
  }

  bool make_symlink(Lane& lane, const InventoryEntry& e, int dir, const std::string& name) {
    if (::symlinkat(e.link_target.c_str(), dir, name.c_str()) != 0) {
      return lane.problem(e.path, fmt::format("cannot create symlink: {}", errno_text(errno)));
    }
    set_metadata_at(lane, dir, name, e);
    return true;
  }

  bool make_node(Lane& lane, const InventoryEntry& e, int dir, const std::string& name) {
    if (::mknodat(dir, name.c_str(), (e.mode & S_IFMT) | 0600, e.rdev) != 0) {
      return lane.problem(e.path, fmt::format("cannot create: {}", errno_text(errno)));
    }
    set_metadata_at(lane, dir, name, e);
    return true;
  }

  bool make_hardlink(Lane& lane, const InventoryEntry& e, const std::string& first, int dir,
                     const std::string& name) {
    const auto comps = path_components(first);
    DirChain::Step s = lane.links.open(comps, comps.size() - 1);
    if (s.err != 0 || ::linkat(s.fd, comps.back().c_str(), dir, name.c_str(), 0) != 0) {
      return lane.problem(e.path, fmt::format("cannot link to {}: {}", first,
                                              errno_text(s.err != 0 ? s.err : errno)));
    }
    return true;
  }

  // Owner, then mode (chown clears setuid), then times.
  void set_metadata(Lane& lane, int fd, const std::string& path, const InventoryEntry& e) {
    if (::fchown(fd, e.uid, e.gid) != 0 && as_root_) {
      lane.problem(path, fmt::format("cannot set owner: {}", errno_text(errno)));
    }
    if (::fchmod(fd, e.mode & 07777) != 0) {
      lane.problem(path, fmt::format("cannot set mode: {}", errno_text(errno)));
    }
    if (e.type == FileType::Directory) {
      const timespec times[2] = {e.atime, e.mtime};
      if (::futimens(fd, times) != 0)
        lane.problem(path, fmt::format("cannot set times: {}", errno_text(errno)));
    }
  }

  // For entries that cannot be opened (symlinks, devices, FIFOs). fchmodat
  // follows a symlink, but the node was just made in a directory only we can
  // write (mode 0700 until the final pass).
  void set_metadata_at(Lane& lane, int dir, const std::string& name, const InventoryEntry& e) {
    if (::fchownat(dir, name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) != 0 && as_root_) {
      lane.problem(e.path, fmt::format("cannot set owner: {}", errno_text(errno)));
    }
    if (e.type != FileType::Symlink && ::fchmodat(dir, name.c_str(), e.mode & 07777, 0) != 0) {
      lane.problem(e.path, fmt::format("cannot set mode: {}", errno_text(errno)));
    }
    const timespec times[2] = {e.atime, e.mtime};
    if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      lane.problem(e.path, fmt::format("cannot set times: {}", errno_text(errno)));
    }
  }

  // Directory metadata last and deepest first: creating a child changes the
  // parent's mtime, and a read-only mode would stop a non-root run from
  // filling the directory.
  void finish_directories() {
    DirChain chain(out_fd_);
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
      const auto comps = path_components(*it);
      DirChain::Step s = chain.open(comps, comps.size() - 1);
      if (s.err != 0) {
        main_.problem(*it, chain_message(chain, comps, s));
        continue;
      }
      Fd fd(::openat(s.fd, comps.back().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd.ok()) {
        main_.problem(*it, fmt::format("cannot open directory: {}", errno_text(errno)));
        continue;
      }
      if (const InventoryEntry* e = inv_.find(*it)) {
        set_metadata(main_, fd.get(), *it, *e);
      } else {
        ::fchmod(fd.get(), 0755);  // a parent outside the inventory (above a --sysroot top)
      }
    }
  }

  const Inventory& inv_;
  const std::vector<bool>& keep_;
  const EmitOptions& options_;
  int src_base_;
  int out_fd_;
  Lane main_;                  // the calling thread's
  std::vector<char> written_;  // by entry: created (each worker writes its own entries)
  bool as_root_;
  std::atomic<bool> reflink_{true};
  std::vector<std::string> created_;  // directories we made, parents first
  std::map<std::pair<dev_t, ino_t>, std::size_t> first_links_;  // inode -> entry written first
  std::vector<std::size_t> copies_;  // step 2, by entry: files, symlinks, special files
  std::vector<std::size_t> links_;   // step 3: second names, by entry
  std::mutex progress_mutex_;
  std::size_t done_ = 0;
};

}  // namespace

Result<EmitStats> emit(const Root& root, const Inventory& inventory, const std::vector<bool>& keep,
                       const EmitOptions& options) {
  if (keep.size() != inventory.entries.size()) {
    return failure(inventory.top, fmt::format("plan has {} decisions for {} entries", keep.size(),
                                              inventory.entries.size()));
  }
  if (options.mode == EmitMode::DryRun) return EmitStats{};
  if (options.mode == EmitMode::InPlace) {
    return failure(inventory.top, "--in-place is remove_in_place's work, not emit's");
  }

  Fd base(::open(root.host_dir().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!base.ok()) {
    return failure(root.host_dir().string(), fmt::format("cannot open: {}", errno_text(errno)));
  }

  ELFPRUNE_TRY_ASSIGN(const Fd out_fd, open_out_dir(root, inventory, options.out_dir));
  return OutWriter(inventory, keep, options, base.get(), out_fd.get()).run();
}

}  // namespace elfprune
