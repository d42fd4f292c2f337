// Helpers shared by the unit tests: a fresh temporary directory per test and
// small file writers. Nothing here knows about elfprune's logic.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace elfprune::test {

// A fresh directory under $TMPDIR, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Host path of `inside` (e.g. "/etc/ld.so.conf") under this directory.
  std::filesystem::path operator/(std::string_view inside) const;

 private:
  std::filesystem::path path_;
};

// Write `content` to `path`, creating parent directories.
void write_file(const std::filesystem::path& path, std::string_view content);
// Create a symlink at `link` pointing to `target` (verbatim), creating parents.
void make_symlink(const std::filesystem::path& link, std::string_view target);
// Copy a host file, creating parent directories.
void copy_file(const std::filesystem::path& from, const std::filesystem::path& to);
// Directory of fixtures built at test time (fixtures/CMakeLists.txt).
std::filesystem::path fixtures_dir();

}  // namespace elfprune::test
