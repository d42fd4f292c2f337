#include "util/fd.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>

namespace elfprune {

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<void> write_all(int fd, std::string_view bytes, std::string_view name) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return make_error(std::string(name),
                        fmt::format("cannot write: {}", errno_text(n < 0 ? errno : EIO)),
                        ErrorKind::Failed);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<std::string> read_all(int fd, std::size_t limit, std::string_view name) {
  std::string data;
  char buf[1 << 16];
  while (data.size() < limit) {
    const std::size_t want = std::min(sizeof buf, limit - data.size());
    const ssize_t n = ::read(fd, buf, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(std::string(name), errno_text(errno));
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  return data;
}

long read_some(int fd, char* buf, std::size_t size) {
  for (;;) {
    const ssize_t n = ::read(fd, buf, size);
    if (n < 0 && errno == EINTR) continue;
    return static_cast<long>(n);
  }
}

std::optional<std::string> pread_some(int fd, std::uint64_t offset, std::size_t len) {
  std::string buf(len, '\0');
  std::size_t got = 0;
  while (got < len) {
    const ssize_t n = ::pread(fd, buf.data() + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  buf.resize(got);
  return buf;
}

std::optional<std::string> pread_exact(int fd, std::uint64_t size, std::uint64_t off,
                                       std::uint64_t len) {
  if (off > size || len > size - off || len > kMaxRead) return std::nullopt;
  auto buf = pread_some(fd, off, static_cast<std::size_t>(len));
  if (!buf || buf->size() != len) return std::nullopt;
  return buf;
}

Result<PreadFile> open_regular_file(const char* host_path, std::string_view display, int flags) {
  Fd fd(::open(host_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | flags));
  if (!fd.ok()) return errno_error(std::string(display), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return make_error(std::string(display), "cannot stat");
  if (S_ISDIR(st.st_mode)) return make_error(std::string(display), "is a directory");
  if (!S_ISREG(st.st_mode)) return make_error(std::string(display), "not a regular file");
  return PreadFile(std::move(fd), static_cast<std::uint64_t>(st.st_size));
}

}  // namespace elfprune
