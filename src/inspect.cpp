#include "elfprune/inspect.hpp"

#include <algorithm>
#include <system_error>
#include <unordered_set>
#include <utility>

#include "elfprune/elf.hpp"
#include "elfprune/pathrefs.hpp"

namespace elfprune {

FileInspection inspect_file(const Root& root, const std::string& canonical,
                            const std::string& store_dir) {
  FileInspection out;
  const std::string head = root.read_head(canonical, 256);
  out.elf = has_elf_magic(head);
  if (!out.elf) out.shebang = parse_shebang(head);
  if (!out.elf && !out.shebang) return out;
  auto mapped = root.map_file(canonical);
  if (!mapped) return out;
  const std::string_view bytes = mapped->bytes();
  // Its code and symbol tables name nothing an ELF program opens.
  const std::vector<std::string_view> regions =
      out.elf ? elf_string_regions(bytes) : std::vector<std::string_view>{bytes};
  for (const std::string_view region : regions) {
    for (auto& p : scan_path_strings(region)) out.paths.push_back(std::move(p));
    for (auto& p : scan_store_paths(region, store_dir)) out.store_paths.push_back(std::move(p));
  }
  if (regions.size() > 1) {
    // Each region's strings are distinct; across regions they may repeat.
    auto dedupe = [](std::vector<std::string>& v) {
      std::unordered_set<std::string> seen;
      std::vector<std::string> once;
      for (auto& s : v) {
        if (seen.insert(s).second) once.push_back(std::move(s));
      }
      v = std::move(once);
    };
    dedupe(out.paths);
    dedupe(out.store_paths);
  }
  return out;
}

Inspector::Inspector(const Root& root, std::string store_dir, unsigned threads)
    : root_(root), store_dir_(std::move(store_dir)) {
  for (unsigned i = 0; i < threads; ++i) {
    try {
      threads_.emplace_back([this] { work(); });
    } catch (const std::system_error&) {
      break;  // fewer threads; take() does what they would have
    }
  }
}

Inspector::~Inspector() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : threads_) t.join();
}

unsigned Inspector::default_threads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 1 ? std::min(cores - 1, 7u) : 0;
}

void Inspector::ask(const std::string& canonical) {
  {
    std::lock_guard lock(mutex_);
    if (!index_.emplace(canonical, slots_.size()).second) return;
    slots_.push_back(Slot{canonical, State::Queued, {}});
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
    FileInspection result = inspect_file(root_, slot.path, store_dir_);
    lock.lock();
    slot.result = std::move(result);
    slot.state = State::Done;
    changed_.notify_all();
  }
}

}  // namespace elfprune
