// Private to the ELF adapter (elf_reader.cpp, elf.cpp): an open file whose
// ranges are read with pread, each checked against the file's size first,
// so that offsets taken from a hostile header never read or allocate
// beyond the file.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace elfprune::elf_detail {

// Caps one read: no table the loader reads comes near it, and it keeps a
// hostile size from allocating without end.
inline constexpr std::uint64_t kMaxRead = 64u << 20;

// `len` bytes at `off` of the open file `fd` of `size` bytes, or nullopt
// when any of them lies outside the file (or the read fails).
inline std::optional<std::string> pread_exact(int fd, std::uint64_t size, std::uint64_t off,
                                              std::uint64_t len) {
  if (off > size || len > size - off || len > kMaxRead) return std::nullopt;
  std::string buf(static_cast<std::size_t>(len), '\0');
  std::size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n =
        ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(off + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    got += static_cast<std::size_t>(n);
  }
  return buf;
}

class PreadFile {
 public:
  // Takes ownership of `fd`.
  PreadFile(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  PreadFile(PreadFile&& other) noexcept : fd_(std::exchange(other.fd_, -1)), size_(other.size_) {}
  PreadFile& operator=(PreadFile&&) = delete;
  PreadFile(const PreadFile&) = delete;
  PreadFile& operator=(const PreadFile&) = delete;
  ~PreadFile() {
    if (fd_ >= 0) ::close(fd_);
  }

  std::uint64_t size() const { return size_; }

  // `len` bytes at `off`, or nullopt when any of them lies outside the file
  // (or the read fails).
  std::optional<std::string> read(std::uint64_t off, std::uint64_t len) const {
    return pread_exact(fd_, size_, off, len);
  }

 private:
  int fd_;
  std::uint64_t size_;
};

}  // namespace elfprune::elf_detail
