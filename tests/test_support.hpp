// Helpers shared by the unit tests: a fresh temporary directory per test and
// small file writers. Nothing here knows about elfprune's logic.
#pragma once

#include <cstdint>
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

// Compile a tiny C source with the system compiler into `out` (flags such as
// "-shared -Wl,-soname,libx.so.1"). Throws with the compiler's output on
// failure. Fixtures are built at test time, never checked in.
void compile_c(std::string_view source, const std::filesystem::path& out,
               std::string_view flags = "");

// Lay a minimal glibc root under `root`, Debian 12 style (merged /usr,
// multiarch): the host's real loader and libc in /usr/lib/x86_64-linux-gnu,
// /lib -> usr/lib, /lib64/ld-linux-x86-64.so.2. No ld.so.cache.
void make_glibc_root(const std::filesystem::path& root);

// Change the tag of every dynamic-section entry tagged `from` to `to`
// (ELF64 little-endian). GNU ld cannot emit DT_RPATH and DT_RUNPATH in one
// object: link with -f DIR (DT_AUXILIARY) and retag that entry.
void retag_dynamic(const std::filesystem::path& file, std::int64_t from, std::int64_t to);

// `path` in single quotes, for a shell command line.
std::string quoted(const std::filesystem::path& path);

// Run a shell command, returning its exit status and combined output.
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult run_command(const std::string& command);

}  // namespace elfprune::test
