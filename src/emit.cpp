// Writing a plan out: a fresh tree (--out), the same tree pruned in place
// (--in-place), or nothing (--dry-run).
//
// Every file-system call is an *at() call relative to a directory fd that was
// opened one component at a time with O_NOFOLLOW, from the root's host
// directory or from OUT. A symlink in the tree (planted after the inventory,
// or one we recreated in OUT) therefore never redirects a read, a write or a
// removal: it makes that one path fail with a problem instead.
#include "elfprune/emit.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>  // FICLONE
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dir_chain.hpp"
#include "elfprune/in_place.hpp"

namespace fs = std::filesystem;

namespace elfprune {
namespace {

using namespace emit_detail;  // NOLINT(google-build-using-namespace): private helpers

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
// it. The tree is the inventory's top, not the whole root: with --sysroot /
// every OUT lies inside the root (check_options applies the same rule).
Result<int> open_out_dir(const Root& root, const Inventory& inv, const std::string& out_dir) {
  if (out_dir.empty()) return make_error(out_dir, "no output directory given", ErrorKind::Usage);
  std::error_code ec;
  const fs::path out = fs::weakly_canonical(fs::absolute(out_dir, ec), ec);
  if (ec) {
    return make_error(out_dir, fmt::format("cannot resolve: {}", ec.message()), ErrorKind::Usage);
  }
  const fs::path tree = fs::weakly_canonical(root.host(inv.top), ec);
  if (is_within(out, tree)) {
    return make_error(out_dir, fmt::format("lies inside the root {}", tree.string()),
                      ErrorKind::Usage);
  }
  if (is_within(tree, out)) {
    return make_error(out_dir, fmt::format("holds the root {}", tree.string()), ErrorKind::Usage);
  }
  if (::mkdir(out.c_str(), 0755) != 0 && errno != EEXIST) {
    return failure(out_dir, fmt::format("cannot create: {}", errno_text(errno)));
  }
  int fd = ::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOTDIR) return make_error(out_dir, "not a directory", ErrorKind::Usage);
    return failure(out_dir, fmt::format("cannot open: {}", errno_text(errno)));
  }
  if (!is_empty_dir(fd)) {
    ::close(fd);
    return make_error(out_dir, "exists and is not empty", ErrorKind::Usage);
  }
  return fd;
}

class OutWriter {
 public:
  OutWriter(const Inventory& inv, const std::vector<bool>& keep, const EmitOptions& options,
            int src_base, int out_fd)
      : inv_(inv),
        keep_(keep),
        options_(options),
        out_fd_(out_fd),
        src_(src_base),
        out_(out_fd),
        as_root_(::geteuid() == 0) {}

  EmitStats run() {
    struct stat st {};
    ::fstat(out_fd_, &st);
    const mode_t out_mode = st.st_mode & 07777;
    // Nobody else may plant anything in OUT while we write; restored below.
    ::fchmod(out_fd_, 0700);
    const std::size_t total = inv_.entries.size();
    for (std::size_t i = 0; i < total; ++i) {
      if (keep_[i]) write_entry(inv_.entries[i]);
      report_progress(options_, i + 1, total);
    }
    src_.truncate(0);  // the final pass opens its own chain: at most one at a time
    out_.truncate(0);
    links_.truncate(0);
    finish_directories();
    if (const InventoryEntry* top = inv_.find("/"); top != nullptr && keep_[inv_.index.at("/")]) {
      set_metadata(out_fd_, "/", *top);
    } else {
      ::fchmod(out_fd_, out_mode);
    }
    if (options_.progress && total == 0) options_.progress(0, 0);
    return std::move(stats_);
  }

 private:
  // Records a per-path failure; false so that `return problem(...)` ends a step.
  bool problem(const std::string& path, std::string message) {
    stats_.problems.push_back(failure(path, std::move(message)));
    return false;
  }

  void write_entry(const InventoryEntry& e) {
    const auto comps = components(e.path);
    if (comps.empty()) return;  // "/" is OUT itself, finished last
    const std::size_t depth_before = created_.size();
    std::vector<std::size_t> made;
    const std::size_t parent_n = comps.size() - 1;
    const bool is_dir = e.type == FileType::Directory;
    DirChain::Step step = out_.open(comps, is_dir ? comps.size() : parent_n, &made);
    for (std::size_t k : made) created_.push_back(inside_path(comps, k + 1));
    if (step.err != 0) return void(problem(e.path, chain_message(out_, comps, step)));
    if (is_dir) {
      if (created_.size() == depth_before || created_.back() != e.path) {
        problem(e.path, "already exists in the output");
      }
      return;
    }
    if (!create(e, comps, step.fd)) return;
    ++stats_.files_written;
    if (e.nlink > 1) first_links_.emplace(std::make_pair(e.dev, e.ino), e.path);  // no-op if linked
  }

  bool create(const InventoryEntry& e, const std::vector<std::string>& comps, int dir) {
    const std::string& name = comps.back();
    if (e.nlink > 1) {
      auto it = first_links_.find({e.dev, e.ino});
      if (it != first_links_.end()) return make_hardlink(e, it->second, dir, name);
    }
    switch (e.type) {
      case FileType::Regular:
        return copy_regular(e, comps, dir, name);
      case FileType::Symlink:
        return make_symlink(e, dir, name);
      case FileType::Fifo:
      case FileType::CharDevice:
      case FileType::BlockDevice:
        return make_node(e, dir, name);
      case FileType::Socket:
        return problem(e.path, "socket not recreated");
      default:
        return problem(e.path, "unsupported file type, not recreated");
    }
  }

  bool copy_regular(const InventoryEntry& e, const std::vector<std::string>& comps, int out_dir,
                    const std::string& name) {
    DirChain::Step s = src_.open(comps, comps.size() - 1);
    if (s.err != 0) return problem(e.path, chain_message(src_, comps, s));
    // O_NONBLOCK: a FIFO swapped in since the inventory must not hang us.
    const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    // O_NOATIME keeps the source's atime as it was; only the owner or root may ask.
    int raw = ::openat(s.fd, name.c_str(), flags | O_NOATIME);
    if (raw < 0 && errno == EPERM) raw = ::openat(s.fd, name.c_str(), flags);
    Fd in(raw);
    if (!in.ok()) return problem(e.path, fmt::format("cannot open: {}", errno_text(errno)));
    struct stat st {};
    if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != e.dev ||
        st.st_ino != e.ino) {
      return problem(e.path, "changed since the inventory, not copied");
    }
    Fd out(::openat(out_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0600));
    if (!out.ok()) return problem(e.path, fmt::format("cannot create: {}", errno_text(errno)));
    auto copied = copy_data(in.get(), out.get());
    if (!copied) return problem(e.path, copied.error().message);
    stats_.bytes_written += *copied;
    // Ownership first: chown clears setuid/setgid and file capabilities.
    set_metadata(out.get(), e.path, e);
    char cap[64];
    ssize_t n = ::fgetxattr(in.get(), kCapabilityXattr, cap, sizeof cap);
    if (n > 0 &&
        ::fsetxattr(out.get(), kCapabilityXattr, cap, static_cast<std::size_t>(n), 0) != 0) {
      problem(e.path, fmt::format("cannot set {}: {}", kCapabilityXattr, errno_text(errno)));
    } else if (n < 0 && errno != ENODATA && errno != ENOTSUP) {
      problem(e.path, fmt::format("cannot read {}: {}", kCapabilityXattr, errno_text(errno)));
    }
    // Times last: the writes above changed them.
    const timespec times[2] = {e.atime, e.mtime};
    if (::futimens(out.get(), times) != 0) {
      problem(e.path, fmt::format("cannot set times: {}", errno_text(errno)));
    }
    return true;
  }

  // A reflink when the file system can; copy_file_range, or read/write
  // where that is not supported (across file systems on old kernels, procfs).
  static Result<std::uint64_t> copy_data(int in, int out) {
    if (::ioctl(out, FICLONE, in) == 0) {
      struct stat st {};
      ::fstat(out, &st);
      return static_cast<std::uint64_t>(st.st_size);
    }
    std::uint64_t total = 0;
    for (;;) {
      ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, std::size_t{1} << 30, 0);
      if (n > 0) {
        total += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n == 0 && total > 0) return total;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) {
        return failure("", fmt::format("cannot copy: {}", errno_text(errno)));
      }
      break;  // unsupported, or 0 at offset 0 (empty, or a file system that lies)
    }
    std::vector<char> buf(std::size_t{1} << 20);
    for (;;) {
      ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return failure("", fmt::format("cannot read: {}", errno_text(errno)));
      if (n == 0) return total;
      for (ssize_t done = 0; done < n;) {
        ssize_t w = ::write(out, buf.data() + done, static_cast<std::size_t>(n - done));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return failure("", fmt::format("cannot write: {}", errno_text(errno)));
        done += w;
      }
      total += static_cast<std::uint64_t>(n);
    }
  }

  bool make_symlink(const InventoryEntry& e, int dir, const std::string& name) {
    if (::symlinkat(e.link_target.c_str(), dir, name.c_str()) != 0) {
      return problem(e.path, fmt::format("cannot create symlink: {}", errno_text(errno)));
    }
    set_metadata_at(dir, name, e);
    return true;
  }

  bool make_node(const InventoryEntry& e, int dir, const std::string& name) {
    if (::mknodat(dir, name.c_str(), (e.mode & S_IFMT) | 0600, e.rdev) != 0) {
      return problem(e.path, fmt::format("cannot create: {}", errno_text(errno)));
    }
    set_metadata_at(dir, name, e);
    return true;
  }

  bool make_hardlink(const InventoryEntry& e, const std::string& first, int dir,
                     const std::string& name) {
    const auto comps = components(first);
    DirChain::Step s = links_.open(comps, comps.size() - 1);
    if (s.err != 0 || ::linkat(s.fd, comps.back().c_str(), dir, name.c_str(), 0) != 0) {
      return problem(e.path, fmt::format("cannot link to {}: {}", first,
                                         errno_text(s.err != 0 ? s.err : errno)));
    }
    return true;
  }

  // Owner, then mode (chown clears setuid), then times.
  void set_metadata(int fd, const std::string& path, const InventoryEntry& e) {
    if (::fchown(fd, e.uid, e.gid) != 0 && as_root_) {
      problem(path, fmt::format("cannot set owner: {}", errno_text(errno)));
    }
    if (::fchmod(fd, e.mode & 07777) != 0) {
      problem(path, fmt::format("cannot set mode: {}", errno_text(errno)));
    }
    if (e.type == FileType::Directory) {
      const timespec times[2] = {e.atime, e.mtime};
      if (::futimens(fd, times) != 0)
        problem(path, fmt::format("cannot set times: {}", errno_text(errno)));
    }
  }

  // For entries that cannot be opened (symlinks, devices, FIFOs). fchmodat
  // follows a symlink, but the node was just made in a directory only we can
  // write (mode 0700 until the final pass).
  void set_metadata_at(int dir, const std::string& name, const InventoryEntry& e) {
    if (::fchownat(dir, name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) != 0 && as_root_) {
      problem(e.path, fmt::format("cannot set owner: {}", errno_text(errno)));
    }
    if (e.type != FileType::Symlink && ::fchmodat(dir, name.c_str(), e.mode & 07777, 0) != 0) {
      problem(e.path, fmt::format("cannot set mode: {}", errno_text(errno)));
    }
    const timespec times[2] = {e.atime, e.mtime};
    if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      problem(e.path, fmt::format("cannot set times: {}", errno_text(errno)));
    }
  }

  // Directory metadata last and deepest first: creating a child changes the
  // parent's mtime, and a read-only mode would stop a non-root run from
  // filling the directory.
  void finish_directories() {
    DirChain chain(out_fd_);
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
      const auto comps = components(*it);
      DirChain::Step s = chain.open(comps, comps.size() - 1);
      if (s.err != 0) {
        problem(*it, chain_message(chain, comps, s));
        continue;
      }
      Fd fd(::openat(s.fd, comps.back().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd.ok()) {
        problem(*it, fmt::format("cannot open directory: {}", errno_text(errno)));
        continue;
      }
      if (const InventoryEntry* e = inv_.find(*it)) {
        set_metadata(fd.get(), *it, *e);
      } else {
        ::fchmod(fd.get(), 0755);  // a parent outside the inventory (above a --sysroot top)
      }
    }
  }

  const Inventory& inv_;
  const std::vector<bool>& keep_;
  const EmitOptions& options_;
  int out_fd_;
  DirChain src_, out_;
  DirChain links_{out_fd_};
  bool as_root_;
  std::vector<std::string> created_;  // directories we made, parents first
  std::map<std::pair<dev_t, ino_t>, std::string> first_links_;
  EmitStats stats_;
};

}  // namespace

Result<EmitStats> emit(const Root& root, const Inventory& inventory, const std::vector<bool>& keep,
                       const EmitOptions& options) {
  if (keep.size() != inventory.entries.size()) {
    return failure(inventory.top, fmt::format("plan has {} decisions for {} entries", keep.size(),
                                              inventory.entries.size()));
  }
  if (options.mode == EmitMode::DryRun) return EmitStats{};
  if (options.mode == EmitMode::InPlace) return remove_in_place(root, inventory, keep, options);

  Fd base(::open(root.host_dir().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!base.ok()) {
    return failure(root.host_dir().string(), fmt::format("cannot open: {}", errno_text(errno)));
  }

  auto out = open_out_dir(root, inventory, options.out_dir);
  if (!out) return out.error();
  Fd out_fd(*out);
  return OutWriter(inventory, keep, options, base.get(), out_fd.get()).run();
}

}  // namespace elfprune
