#include "tree/root.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace fs = std::filesystem;

namespace elfprune {
namespace {

// The kernel's limit for symlinks followed in one lookup (MAXSYMLINKS).
constexpr int kMaxSymlinks = 40;

}  // namespace

FileType file_type_of(mode_t mode) {
  if (S_ISREG(mode)) return FileType::Regular;
  if (S_ISDIR(mode)) return FileType::Directory;
  if (S_ISLNK(mode)) return FileType::Symlink;
  if (S_ISFIFO(mode)) return FileType::Fifo;
  if (S_ISSOCK(mode)) return FileType::Socket;
  if (S_ISCHR(mode)) return FileType::CharDevice;
  if (S_ISBLK(mode)) return FileType::BlockDevice;
  return FileType::Other;
}

namespace {

Result<std::string> read_link(const std::string& host_path, const std::string& display) {
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = ::readlink(host_path.c_str(), buf.data(), buf.size());
    if (n < 0) return errno_error(display, errno);
    if (static_cast<std::size_t>(n) < buf.size()) {
      buf.resize(static_cast<std::size_t>(n));
      return buf;
    }
    if (buf.size() > (1u << 16)) return make_error(display, "symbolic link target too long");
    buf.resize(buf.size() * 2);
  }
}

}  // namespace

Root::Root(const fs::path& host_dir) {
  std::error_code ec;
  fs::path abs = fs::absolute(host_dir, ec);
  fs::path canon = fs::weakly_canonical(ec ? host_dir : abs, ec);
  host_dir_ = ec ? abs : canon;
  host_prefix_ = host_dir_.string();
  while (!host_prefix_.empty() && host_prefix_.back() == '/') host_prefix_.pop_back();
}

fs::path Root::host(std::string_view canonical) const {
  std::string out;
  out.reserve(host_prefix_.size() + canonical.size() + 1);
  out.append(host_prefix_);
  if (canonical.empty() || canonical.front() != '/') out.push_back('/');
  out.append(canonical);
  return fs::path(std::move(out));
}

Result<FileStat> Root::resolve(std::string_view path, bool follow_last) const {
  const std::string display(path);
  std::deque<std::string> pending;
  for (auto& c : path_components(path)) pending.push_back(std::move(c));

  std::vector<std::string> current;
  std::vector<std::string> followed;
  int symlinks = 0;
  struct stat st {};
  bool have_stat = false;  // st describes join(current)

  while (!pending.empty()) {
    std::string comp = std::move(pending.front());
    pending.pop_front();
    if (comp == ".") continue;
    if (comp == "..") {
      if (!current.empty()) current.pop_back();
      have_stat = false;
      continue;
    }
    current.push_back(comp);
    const std::string canonical = path_of_components(current, current.size());
    if (is_hidden(canonical) || is_beyond(canonical)) {
      return errno_error(display, ENOENT);
    }
    const LinkStat ls = lstat_of(canonical);
    if (ls.err != 0) return errno_error(display, ls.err);
    st = ls.st;
    have_stat = true;
    const bool last = pending.empty();
    if (S_ISLNK(st.st_mode) && (!last || follow_last)) {
      if (++symlinks > kMaxSymlinks) return errno_error(display, ELOOP);
      auto target = link_of(canonical, display);
      ELFPRUNE_TRY(target);
      followed.push_back(canonical);
      current.pop_back();
      // An absolute target is re-rooted: it restarts at `/` of the root.
      if (!target->empty() && target->front() == '/') current.clear();
      auto comps = path_components(*target);
      for (auto it = comps.rbegin(); it != comps.rend(); ++it) pending.push_front(*it);
      have_stat = false;
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
      return errno_error(display, ENOTDIR);
    }
  }

  FileStat out;
  out.path = path_of_components(current, current.size());
  if (is_hidden(out.path) || is_beyond(out.path)) return errno_error(display, ENOENT);
  if (!have_stat) {
    const LinkStat ls = lstat_of(out.path);
    if (ls.err != 0) return errno_error(display, ls.err);
    st = ls.st;
  }
  out.type = file_type_of(st.st_mode);
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.mode = st.st_mode;
  out.symlinks = std::move(followed);
  return out;
}

void Root::set_boundaries(std::shared_ptr<const Boundaries> boundaries) {
  boundaries_ = std::move(boundaries);
}

bool Root::is_beyond(const std::string& canonical) const {
  if (!boundaries_) return false;
  if (boundaries_->excluded.count(canonical) != 0) return true;
  if (boundaries_->sealed.empty()) return false;
  if (canonical.find('/') == std::string::npos) return false;
  return boundaries_->sealed.count(std::string(path_parent(canonical))) != 0;
}

Result<std::string> Root::realpath(std::string_view path) const {
  auto st = resolve(path);
  ELFPRUNE_TRY(st);
  return st->path;
}

// What lstat and readlink said, by canonical path. In parts by the path's
// hash, each with its own mutex: the inventory's workers remember thousands
// of paths at once, and behind one mutex (held while a node is allocated
// and the table grows) they took turns. The lookups are short, and the
// kernel calls they replace cost far more.
struct Root::StatMemo {
  struct Known {
    LinkStat stat;
    std::optional<Result<std::string>> target;  // symlinks, once read
  };
  struct Part {
    std::mutex mutex;
    std::unordered_map<std::string, Known> known;
    // First bytes of files (kHeadBytes at most): the closure, verify and
    // the edits each ask what kind of file a kept path is.
    std::unordered_map<std::string, std::string> heads;
  };
  std::array<Part, 16> parts;
  StatSnapshot snapshot;  // set once, before lookups from several threads

  Part& part(const std::string& canonical) {
    return parts[std::hash<std::string>{}(canonical) % parts.size()];
  }
};

void Root::remember_stats() {
  if (!memo_) memo_ = std::make_shared<StatMemo>();
}

void Root::use_snapshot(StatSnapshot snapshot) {
  if (memo_) memo_->snapshot = std::move(snapshot);
}

Root::LinkStat Root::lstat_of(const std::string& canonical) const {
  StatMemo::Part* part = memo_ ? &memo_->part(canonical) : nullptr;
  if (part != nullptr) {
    std::lock_guard lock(part->mutex);
    auto it = part->known.find(canonical);
    if (it != part->known.end()) return it->second.stat;
  }
  LinkStat ls;
  std::optional<std::string> unused;
  if (part != nullptr && memo_->snapshot && memo_->snapshot(canonical, ls.st, unused)) return ls;
  if (::lstat(host(canonical).c_str(), &ls.st) != 0) ls.err = errno;
  if (part != nullptr) {
    std::lock_guard lock(part->mutex);
    part->known.try_emplace(canonical, StatMemo::Known{ls, std::nullopt});
  }
  return ls;
}

Result<std::string> Root::link_of(const std::string& canonical, const std::string& display) const {
  StatMemo::Part* part = memo_ ? &memo_->part(canonical) : nullptr;
  if (part != nullptr) {
    std::lock_guard lock(part->mutex);
    auto it = part->known.find(canonical);
    if (it != part->known.end() && it->second.target) {
      const Result<std::string>& t = *it->second.target;
      return t ? Result<std::string>(*t) : make_error(display, t.error().message);
    }
  }
  if (part != nullptr && memo_->snapshot) {
    struct stat st {};
    std::optional<std::string> target;
    if (memo_->snapshot(canonical, st, target) && target) return std::move(*target);
  }
  auto target = read_link(host(canonical).string(), display);
  if (part != nullptr) {
    std::lock_guard lock(part->mutex);
    auto it = part->known.find(canonical);
    if (it != part->known.end()) it->second.target = target;
  }
  return target;
}

Root Root::without(std::shared_ptr<const std::unordered_set<std::string>> hidden) const {
  Root view = *this;
  view.hidden_ = std::move(hidden);
  return view;
}

bool Root::is_directory(std::string_view path) const {
  auto st = resolve(path);
  return st && st->type == FileType::Directory;
}

MappedFile::MappedFile(MappedFile&& other) noexcept : addr_(other.addr_), size_(other.size_) {
  other.addr_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (addr_ != nullptr) ::munmap(addr_, size_);
    addr_ = other.addr_;
    size_ = other.size_;
    other.addr_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
}

Result<MappedFile> Root::map_file(std::string_view path) const {
  ELFPRUNE_TRY_ASSIGN(const PreadFile file, open_regular(path));
  const auto size = static_cast<std::size_t>(file.size());
  if (size == 0) return MappedFile();
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file.fd(), 0);
  if (addr == MAP_FAILED) return make_error(std::string(path), errno_text(errno));
  return MappedFile(addr, size);
}

std::string Root::read_head(std::string_view canonical, std::size_t n) const {
  constexpr std::size_t kHeadBytes = 256;
  if (memo_ && n <= kHeadBytes) {
    const std::string key(canonical);
    StatMemo::Part& part = memo_->part(key);
    {
      std::lock_guard lock(part.mutex);
      auto it = part.heads.find(key);
      if (it != part.heads.end()) return it->second.substr(0, n);
    }
    std::string head = read_head_now(canonical, kHeadBytes);
    std::lock_guard lock(part.mutex);
    return part.heads.try_emplace(key, std::move(head)).first->second.substr(0, n);
  }
  return read_head_now(canonical, n);
}

std::string Root::read_head_now(std::string_view canonical, std::size_t n) const {
  const Fd fd(::open(host(canonical).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.ok()) return {};
  return pread_some(fd.get(), 0, n).value_or(std::string());
}

Result<PreadFile> Root::open_regular(std::string_view path) const {
  ELFPRUNE_TRY_ASSIGN(const FileStat st, resolve(path));
  if (st.type != FileType::Regular) return make_error(std::string(path), "not a regular file");
  // O_NOFOLLOW: the path was resolved; a symlink appearing now is a race we refuse.
  return open_regular_file(host(st.path).c_str(), path, O_NOFOLLOW);
}

Result<std::string> Root::read_file(std::string_view path, std::size_t limit) const {
  ELFPRUNE_TRY_ASSIGN(const PreadFile file, open_regular(path));
  return read_all(file.fd(), std::min<std::uint64_t>(file.size(), limit), path);
}

}  // namespace elfprune
