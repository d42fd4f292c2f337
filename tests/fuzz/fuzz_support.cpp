#include "fuzz_support.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "fuzz_targets.hpp"

namespace elfprune::fuzz {

void invariant_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", file, line, condition);
  std::abort();
}

MemFile::MemFile() : fd_(::memfd_create("elfprune-fuzz-input", MFD_CLOEXEC)) {
  if (fd_ < 0) throw std::runtime_error("memfd_create failed");
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemFile::~MemFile() {
  ::close(fd_);
}

void MemFile::replace(std::string_view bytes) const {
  if (::ftruncate(fd_, 0) != 0) throw std::runtime_error("ftruncate of the memfd failed");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n <= 0) throw std::runtime_error("write to the memfd failed");
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace elfprune::fuzz
