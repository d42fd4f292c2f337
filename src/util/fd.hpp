// File descriptors: the one owner (`Fd`), the read and write loops every
// caller would otherwise write again (EINTR, short counts), and bounded
// reads at offsets taken from untrusted headers (`PreadFile`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "util/result.hpp"

namespace elfprune {

// Owns one descriptor; closes it when destroyed. Move-only.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  // Close the descriptor held (if any) and hold `fd` instead.
  void reset(int fd = -1);

 private:
  int fd_;
};

// All of `bytes` written to `fd`. Errors name `name`: "cannot write: ...".
Result<void> write_all(int fd, std::string_view bytes, std::string_view name);

// What `fd` holds from its current offset to the end, or `limit` bytes,
// whichever comes first. Errors name `name`.
Result<std::string> read_all(int fd, std::size_t limit, std::string_view name);

// Up to `len` bytes at `offset` (fewer at the end of the file); nullopt
// when the read fails.
std::optional<std::string> pread_some(int fd, std::uint64_t offset, std::size_t len);

// Caps one bounded read: no table the loader reads comes near it, and it
// keeps a hostile size from allocating without end.
inline constexpr std::uint64_t kMaxRead = 64u << 20;

// `len` bytes at `off` of the open file `fd` of `size` bytes, or nullopt
// when any of them lies outside the file (or the read fails).
std::optional<std::string> pread_exact(int fd, std::uint64_t size, std::uint64_t off,
                                       std::uint64_t len);

// An open regular file whose ranges are read with pread, each checked
// against the file's size first, so that offsets taken from a hostile
// header never read or allocate beyond the file.
class PreadFile {
 public:
  PreadFile(Fd fd, std::uint64_t size) : fd_(std::move(fd)), size_(size) {}

  std::uint64_t size() const { return size_; }
  int fd() const { return fd_.get(); }

  // `len` bytes at `off`, or nullopt when any of them lies outside the file
  // (or the read fails).
  std::optional<std::string> read(std::uint64_t off, std::uint64_t len) const {
    return pread_exact(fd_.get(), size_, off, len);
  }

 private:
  Fd fd_;
  std::uint64_t size_;
};

// `host_path` opened for reading if it is a regular file (after `flags`,
// e.g. O_NOFOLLOW, had their say). O_NONBLOCK: a FIFO in its place never
// hangs the caller. Errors name `display`: "is a directory", "not a
// regular file", or the errno text.
Result<PreadFile> open_regular_file(const char* host_path, std::string_view display, int flags = 0);

}  // namespace elfprune
