// What the closure learns from a kept file's bytes: whether it is an ELF
// file or a script, and the absolute path strings and store paths it names.
// Reading and scanning the bytes is most of the closure's work (libnode's
// data alone is 8 MB), and it depends on nothing but the file, so an
// Inspector does it ahead, on other cores, while the closure resolves.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "facts/shebang.hpp"
#include "tree/root.hpp"
#include "util/worker_pool.hpp"

namespace elfprune {

struct FileInspection {
  bool elf = false;                // starts with the ELF magic
  std::optional<Shebang> shebang;  // a script's #! line (not for ELF files)
  // Absolute path strings (pathrefs.hpp) and store paths in the script, or
  // in the ELF file's data (elf_string_regions); none for other files. In
  // order of first appearance, each once.
  std::vector<std::string> paths;
  std::vector<std::string> store_paths;
};

// Inspect the regular file at `canonical` (from the inventory). An
// unreadable file inspects as neither ELF nor script.
FileInspection inspect_file(const Root& root, const std::string& canonical,
                            const std::string& store_dir);

// Inspects files on background threads in the order they are asked for,
// so that take() usually finds the answer ready. take() of a path that no
// thread has started is inspected on the calling thread: the answers are
// those of inspect_file whatever the timing. Without background threads
// (--jobs 1), every file is inspected by take(), when the closure takes it.
class Inspector {
 public:
  // `threads`: background threads (0: none, everything is done by take());
  // fewer when the system gives fewer.
  Inspector(const Root& root, std::string store_dir, unsigned threads);
  ~Inspector();
  Inspector(const Inspector&) = delete;
  Inspector& operator=(const Inspector&) = delete;

  // Queue `canonical` for inspection (again: ignored).
  void ask(const std::string& canonical);
  // The inspection of `canonical`, waiting for a thread that is doing it.
  FileInspection take(const std::string& canonical);

  // Background threads for `jobs` threads in all (jobs_or_cores, src/util/worker_pool.hpp):
  // one fewer, the caller being the other, and at most 7.
  static unsigned threads_for(unsigned jobs);

 private:
  enum class State { Queued, Running, Done };
  struct Slot {
    std::string path;
    State state = State::Queued;
    FileInspection result;
    std::exception_ptr failure;  // a background thread's, for take() to throw
  };
  void work();

  const Root& root_;
  const std::string store_dir_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Slot> slots_;  // deque: references stay valid as it grows
  std::unordered_map<std::string, std::size_t> index_;
  std::size_t next_ = 0;  // the first slot no thread may have started
  bool stopping_ = false;
  // Last: destroyed first, so that its threads are joined before the rest
  // goes. Each runs work() until the destructor says stop.
  WorkerPool workers_;
};

}  // namespace elfprune
