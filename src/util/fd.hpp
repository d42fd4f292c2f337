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

// Everything `fd` holds from its current offset, handed to `sink` one
// chunk of `buf` at a time (streaming copies of files of any size). Stops
// at the first error, the sink's or the read's (naming `name`).
template <class Sink>
Result<void> read_chunks(int fd, std::string& buf, std::string_view name, Sink&& sink);

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

// One read(2), EINTR retried: the bytes read, 0 at the end, -1 on error.
long read_some(int fd, char* buf, std::size_t size);

template <class Sink>
Result<void> read_chunks(int fd, std::string& buf, std::string_view name, Sink&& sink) {
  if (buf.empty()) buf.resize(128u << 10);
  for (;;) {
    const long n = read_some(fd, buf.data(), buf.size());
    if (n < 0) return errno_error(std::string(name), errno);
    if (n == 0) return {};
    ELFPRUNE_TRY(sink(std::string_view(buf.data(), static_cast<std::size_t>(n))));
  }
}

}  // namespace elfprune
