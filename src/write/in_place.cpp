// --in-place removal with its journal (see in_place.hpp for why).
//
// Every removal is an unlinkat() relative to a directory fd opened one
// component at a time with O_NOFOLLOW from the pruned directory, whether the
// path came from the plan or from a journal: a symlink planted in the tree
// makes that one path fail, it never redirects a removal.
#include "write/in_place.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "util/dir_chain.hpp"

namespace elfprune {
namespace {

constexpr std::string_view kHeader = "elfprune in-place journal 1\n";
// Far beyond any real tree (a 100k-entry root makes a few MB), small enough
// that a hostile file of that name cannot make us allocate without bound.
constexpr std::size_t kMaxJournalBytes = std::size_t{256} << 20;

// FNV-1a: catches a truncated, edited or foreign file; not a defence against
// someone who can write the pruned directory (they could delete files anyway).
std::uint64_t checksum(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// True when `rel` names something strictly inside the pruned directory.
bool is_plain_relative(std::string_view rel) {
  if (rel.empty() || rel.front() == '/' || rel.back() == '/') return false;
  for (const auto& c : path_components(rel)) {
    if (c == "." || c == "..") return false;
  }
  return rel.find("//") == std::string_view::npos;
}

Error failure(std::string path, std::string message) {
  return make_error(std::move(path), std::move(message), ErrorKind::Failed);
}

// The pruned directory, readable (fsync needs a real fd, not O_PATH),
// reached from the root's host directory without following a symlink.
Result<Fd> open_top(const Root& root, const std::string& top) {
  Fd base(::open(root.host_dir().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!base.ok()) {
    return failure(root.host_dir().string(), fmt::format("cannot open: {}", errno_text(errno)));
  }
  const auto comps = path_components(top);
  if (comps.empty()) {
    Fd fd(::openat(base.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.ok()) return failure(top, fmt::format("cannot open: {}", errno_text(errno)));
    return fd;
  }
  DirChain chain(base.get());
  DirChain::Step s = chain.open(comps, comps.size() - 1);
  if (s.err != 0) return failure(top, chain_message(chain, comps, s));
  Fd fd(::openat(s.fd, comps.back().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.ok()) return failure(top, fmt::format("cannot open: {}", errno_text(errno)));
  return fd;
}

// Temp name, fsync, rename, directory fsync: after this returns the journal
// is on disk whole or not at all, before anything is deleted.
Result<void> write_journal(int top_fd, const std::string& top, std::string_view bytes) {
  const std::string temp = path_join(top, kJournalTempName);
  const std::string tname(kJournalTempName);
  if (::unlinkat(top_fd, tname.c_str(), 0) != 0 && errno != ENOENT) {
    return failure(temp, fmt::format("cannot remove a stale temp journal: {}", errno_text(errno)));
  }
  Fd fd(
      ::openat(top_fd, tname.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.ok()) return failure(temp, fmt::format("cannot create: {}", errno_text(errno)));
  ELFPRUNE_TRY(write_all(fd.get(), bytes, temp));
  if (::fsync(fd.get()) != 0) return failure(temp, fmt::format("fsync: {}", errno_text(errno)));
  if (::renameat(top_fd, tname.c_str(), top_fd, std::string(kJournalName).c_str()) != 0) {
    return failure(temp, fmt::format("cannot rename into place: {}", errno_text(errno)));
  }
  if (::fsync(top_fd) != 0) return failure(top, fmt::format("fsync: {}", errno_text(errno)));
  return {};
}

void remove_journal(int top_fd, const std::string& top, EmitStats& stats) {
  // Every removal listed reaches the disk before the journal's own removal
  // does: after a power cut the journal is either still there (and the next
  // run finishes the job) or the tree is complete.
  ::syncfs(top_fd);
  if (::unlinkat(top_fd, std::string(kJournalName).c_str(), 0) != 0 && errno != ENOENT) {
    stats.problems.push_back(
        failure(path_join(top, kJournalName),
                fmt::format("cannot remove the journal: {}", errno_text(errno))));
  }
  ::fsync(top_fd);
}

std::string removal_message(int err, bool is_dir) {
  switch (err) {
    case ENOTEMPTY:
    case EEXIST:
      return "directory not empty (something was added since the inventory), not removed";
    case EISDIR:
      return "is a directory now, not removed";
    case ENOTDIR:
      return is_dir ? "is no longer a directory (a symlink or file took its place), not removed"
                    : "not removed: not a directory";
    case EROFS:
      return "cannot remove: read-only file system";
    case EPERM:
      return "cannot remove: operation not permitted (immutable or append-only attribute?)";
    default:
      return fmt::format("cannot remove: {}", errno_text(err));
  }
}

// Remove the listed entries in order (children before parents); an entry
// already gone counts as removed.
void remove_listed(int top_fd, const std::string& top, const std::vector<JournalEntry>& entries,
                   const EmitOptions& options, EmitStats& stats) {
  DirChain chain(top_fd);
  // One problem per bad directory, not one per entry below it.
  std::set<std::string> refused;
  const std::size_t total = entries.size();
  for (std::size_t i = 0; i < total; report_progress(options, ++i, total)) {
    const JournalEntry& e = entries[i];
    const auto comps = path_components(e.path);
    DirChain::Step s = chain.open(comps, comps.size() - 1);
    if (s.err == ENOENT) {
      ++stats.removed;  // a parent is gone already: an earlier, interrupted run
      continue;
    }
    if (s.err != 0) {
      const std::string bad = path_join(top, path_of_components(comps, s.depth + 1).substr(1));
      if (refused.insert(bad).second) {
        stats.problems.push_back(
            failure(bad, chain_message(chain, comps, s) + "; nothing below it removed"));
      }
      continue;
    }
    if (::unlinkat(s.fd, comps.back().c_str(), e.directory ? AT_REMOVEDIR : 0) == 0 ||
        errno == ENOENT) {
      ++stats.removed;
    } else {
      stats.problems.push_back(
          failure(path_join(top, e.path), removal_message(errno, e.directory)));
    }
  }
  if (options.progress && total == 0) options.progress(0, 0);
}

}  // namespace

std::string encode_journal(const std::vector<JournalEntry>& entries) {
  std::string out(kHeader);
  out += fmt::format("entries {}\n", entries.size());
  for (const auto& e : entries) {
    out += e.directory ? 'd' : 'f';
    out += e.path;
    out += '\0';
  }
  out += fmt::format("end {:016x}\n", checksum(out));
  return out;
}

Result<std::vector<JournalEntry>> decode_journal(std::string_view bytes, const std::string& name) {
  auto corrupt = [&name](std::string_view why) {
    return make_error(name, fmt::format("corrupt in-place journal ({}); nothing removed", why));
  };
  if (bytes.substr(0, kHeader.size()) != kHeader) return corrupt("not an elfprune journal");
  const std::size_t trailer = bytes.rfind("end ");
  if (trailer == std::string_view::npos || bytes.size() - trailer != 4 + 16 + 1 ||
      bytes.back() != '\n') {
    return corrupt("no end line: truncated?");
  }
  // Compared as text, so that the trailer has exactly one spelling.
  if (bytes.substr(trailer + 4, 16) != fmt::format("{:016x}", checksum(bytes.substr(0, trailer)))) {
    return corrupt("checksum mismatch");
  }
  std::string_view body = bytes.substr(kHeader.size(), trailer - kHeader.size());
  const std::size_t eol = body.find('\n');
  std::size_t count = 0;
  if (eol == std::string_view::npos || body.substr(0, 8) != "entries " ||
      std::from_chars(body.data() + 8, body.data() + eol, count).ptr != body.data() + eol) {
    return corrupt("bad entry count");
  }
  body.remove_prefix(eol + 1);
  std::vector<JournalEntry> entries;
  while (!body.empty()) {
    const std::size_t end = body.find('\0');
    if (end == std::string_view::npos) return corrupt("unterminated record");
    const char type = body.front();
    std::string_view rel = body.substr(1, end - 1);
    if ((type != 'd' && type != 'f') || !is_plain_relative(rel)) {
      return corrupt(
          fmt::format("record {} is not a path inside the pruned directory", entries.size() + 1));
    }
    entries.push_back({std::string(rel), type == 'd'});
    body.remove_prefix(end + 1);
  }
  if (entries.size() != count) {
    return corrupt(fmt::format("{} records, {} announced", entries.size(), count));
  }
  return entries;
}

Result<EmitStats> remove_in_place(const Root& root, const Inventory& inv,
                                  const std::vector<bool>& keep, const EmitOptions& options) {
  EmitStats stats;
  std::vector<JournalEntry> planned;
  // Reverse order: a directory's subtree follows it, so children go first.
  for (std::size_t i = inv.entries.size(); i-- > 0;) {
    if (keep[i]) continue;
    const InventoryEntry& e = inv.entries[i];
    if (!inv.contains(e.path) || e.path == inv.top) {
      stats.problems.push_back(failure(e.path, "not removing the pruned directory itself"));
      continue;
    }
    const std::size_t skip = inv.top == "/" ? 1 : inv.top.size() + 1;
    planned.push_back({e.path.substr(skip), e.type == FileType::Directory});
  }
  if (planned.empty()) {
    if (options.progress) options.progress(0, 0);
    return stats;
  }
  ELFPRUNE_TRY_ASSIGN(const Fd top_fd, open_top(root, inv.top));
  if (auto ok = write_journal(top_fd.get(), inv.top, encode_journal(planned)); !ok) {
    Error e = ok.error();
    e.message += "; nothing removed";
    return e;
  }
  remove_listed(top_fd.get(), inv.top, planned, options, stats);
  remove_journal(top_fd.get(), inv.top, stats);
  return stats;
}

Result<FinishedRun> finish_interrupted(const Root& root, const std::string& top,
                                       const EmitOptions& options) {
  FinishedRun run;
  ELFPRUNE_TRY_ASSIGN(const Fd top_fd, open_top(root, top));
  const std::string temp = path_join(top, kJournalTempName);
  if (::unlinkat(top_fd.get(), std::string(kJournalTempName).c_str(), 0) != 0 && errno != ENOENT) {
    return make_error(temp,
                      fmt::format("cannot remove this stale temp journal: {}", errno_text(errno)));
  }
  const std::string name = path_join(top, kJournalName);
  // O_NONBLOCK: a FIFO planted under that name must not hang us.
  Fd fd(::openat(top_fd.get(), std::string(kJournalName).c_str(),
                 O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.ok() && errno == ENOENT) return run;
  if (!fd.ok()) {
    return make_error(name, fmt::format("cannot open the in-place journal: {}; nothing removed",
                                        errno_text(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(name, "not a regular file, so not a journal elfprune wrote; nothing removed");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxJournalBytes) {
    return make_error(name, "corrupt in-place journal (too large); nothing removed");
  }
  ELFPRUNE_TRY_ASSIGN(const std::string bytes,
                      read_all(fd.get(), static_cast<std::size_t>(st.st_size), name));
  ELFPRUNE_TRY_ASSIGN(const std::vector<JournalEntry> entries, decode_journal(bytes, name));
  run.found = true;
  run.listed = entries.size();
  remove_listed(top_fd.get(), top, entries, options, run.stats);
  remove_journal(top_fd.get(), top, run.stats);
  return run;
}

Result<TreeLock> lock_tree(const Root& root, const std::string& top, bool exclusive) {
  auto opened = open_top(root, top);
  if (!opened) return TreeLock();
  const int fd = opened->get();
  TreeLock lock(std::move(*opened));
  int rc = 0;
  do {
    rc = ::flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return lock;
  if (errno != EWOULDBLOCK) return TreeLock();
  return make_error(
      top,
      exclusive ? "another elfprune run is reading or pruning this tree (it holds a lock on the "
                  "directory); nothing was done: run --in-place again when it has ended"
                : "an elfprune --in-place run is pruning this tree (it holds a lock on the "
                  "directory); nothing was done: run again when it has ended",
      ErrorKind::Failed);
}

bool has_journal(const Root& root, const std::string& top) {
  struct stat st {};
  const std::string path = root.host(top).string() + "/" + std::string(kJournalName);
  return ::fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

}  // namespace elfprune
