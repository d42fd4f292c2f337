#include "facts/inspect.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <unordered_set>
#include <utility>

#include "elf/elf_info.hpp"
#include "facts/pathrefs.hpp"
#include "util/worker_pool.hpp"

namespace elfprune {

namespace {

// Hands `scan` the bytes of `range` in pieces read into a buffer the thread
// reuses. Mapping the file instead costs more in page-table updates than
// the scan itself (libicudata's 30 MB: 29 ms mapped, 6 ms read this way, on
// the benchmark machine). Each piece but the last ends just after a NUL or
// a newline, which no path string or store path contains: none is cut.
template <typename Scan>
void read_in_pieces(int fd, FileRange range, Scan&& scan) {
  constexpr std::size_t kBuffer = std::size_t{1} << 20;
  thread_local std::vector<char> buffer;
  if (buffer.empty()) buffer.resize(kBuffer);
  std::uint64_t pos = range.begin;
  while (pos < range.end) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kBuffer, range.end - pos));
    const ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // shorter than it was: what is there was scanned
    std::string_view piece(buffer.data(), static_cast<std::size_t>(n));
    if (pos + piece.size() < range.end) {
      const auto cut = piece.find_last_of(std::string_view("\0\n", 2));
      // A megabyte without either (no such program data): cut anyway.
      if (cut != std::string_view::npos) piece = piece.substr(0, cut + 1);
    }
    scan(piece);
    pos += piece.size();
  }
}

void keep_first_of_each(std::vector<std::string>& v) {
  std::unordered_set<std::string> seen;
  std::vector<std::string> once;
  for (auto& s : v) {
    if (seen.insert(s).second) once.push_back(std::move(s));
  }
  v = std::move(once);
}

}  // namespace

FileInspection inspect_file(const Root& root, const std::string& canonical,
                            const std::string& store_dir) {
  FileInspection out;
  const std::string head = root.read_head(canonical, 256);
  out.elf = has_elf_magic(head);
  if (!out.elf) out.shebang = parse_shebang(head);
  if (!out.elf && !out.shebang) return out;
  auto opened = root.open_regular(canonical);
  if (!opened) return out;
  const int fd = opened->fd();
  const std::uint64_t size = opened->size();
  // Its code and symbol tables name nothing an ELF program opens.
  const std::vector<FileRange> ranges =
      out.elf ? elf_string_ranges(fd, size) : std::vector<FileRange>{{0, size}};
  for (const FileRange& range : ranges) {
    read_in_pieces(fd, range, [&](std::string_view piece) {
      for (auto& p : scan_path_strings(piece)) out.paths.push_back(std::move(p));
      for (auto& p : scan_store_paths(piece, store_dir)) out.store_paths.push_back(std::move(p));
    });
  }
  keep_first_of_each(out.paths);
  keep_first_of_each(out.store_paths);
  return out;
}

Inspector::Inspector(const Root& root, std::string store_dir, unsigned threads)
    : root_(root), store_dir_(std::move(store_dir)), workers_(threads + 1) {
  // One work() a background thread, running beside the closure (the pool's
  // owner) until the destructor stops it; with none, take() does it all.
  for (unsigned i = 0; i < workers_.background(); ++i) workers_.submit([this] { work(); });
}

Inspector::~Inspector() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  // workers_, destroyed next, waits for the work() calls to return.
}

unsigned Inspector::threads_for(unsigned jobs) {
  return std::min(jobs_or_cores(jobs) - 1, 7u);
}

void Inspector::ask(const std::string& canonical) {
  {
    std::lock_guard lock(mutex_);
    if (!index_.emplace(canonical, slots_.size()).second) return;
    slots_.push_back(Slot{canonical, State::Queued, {}, {}});
  }
  changed_.notify_one();
}

FileInspection Inspector::take(const std::string& canonical) {
  std::unique_lock lock(mutex_);
  auto it = index_.find(canonical);
  if (it == index_.end()) {
    lock.unlock();
    return inspect_file(root_, canonical, store_dir_);
  }
  Slot& slot = slots_[it->second];
  if (slot.state == State::Queued) {
    slot.state = State::Running;  // ours: no thread will start it now
    lock.unlock();
    FileInspection result = inspect_file(root_, canonical, store_dir_);
    lock.lock();
    slot.state = State::Done;
    return result;
  }
  changed_.wait(lock, [&] { return slot.state == State::Done; });
  if (slot.failure) std::rethrow_exception(slot.failure);
  return std::move(slot.result);
}

void Inspector::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || next_ < slots_.size(); });
    if (stopping_) return;
    Slot& slot = slots_[next_++];
    if (slot.state != State::Queued) continue;  // take() got there first
    slot.state = State::Running;
    lock.unlock();
    FileInspection result;
    std::exception_ptr failure;
    try {
      result = inspect_file(root_, slot.path, store_dir_);
    } catch (...) {
      // Out of memory: take() throws it on the closure's thread rather
      // than wait forever for an answer that is not coming.
      failure = std::current_exception();
    }
    lock.lock();
    slot.result = std::move(result);
    slot.failure = std::move(failure);
    slot.state = State::Done;
    changed_.notify_all();
  }
}

}  // namespace elfprune
