// A file for the targets whose parsers take a path rather than bytes: the
// fuzz input is written where the real code opens it, so the whole path
// (open, fstat, pread, LIEF's own reading) runs as in production.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace elfprune::fuzz {

// An anonymous in-memory file (memfd), rewritten for each input and opened
// by path through /proc/self/fd: no disk traffic per run.
class MemFile {
 public:
  MemFile();
  ~MemFile();
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  void replace(std::string_view bytes) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  int fd_;
  std::filesystem::path path_;
};

}  // namespace elfprune::fuzz
