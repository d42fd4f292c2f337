// Private to src/elf/: the ELF header, which both readers (elf_reader.cpp,
// lief_adapter.cpp) parse the same way, and the opening of a file to read it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "elf/elf_info.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace elfprune::elf_detail {

inline constexpr std::size_t kIdentSize = 16;
inline constexpr std::size_t kHeader32Size = 52;
inline constexpr std::size_t kHeader64Size = 64;

// An unsigned integer of `width` bytes at `offset`; the caller checked the range.
inline std::uint64_t read_uint(std::string_view bytes, std::size_t offset, std::size_t width,
                               bool little) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const auto b = static_cast<unsigned char>(bytes[offset + i]);
    if (little) {
      v |= static_cast<std::uint64_t>(b) << (8 * i);
    } else {
      v = (v << 8) | b;
    }
  }
  return v;
}

// An open regular file and its first bytes; the file stays open for the
// guard's further reads.
struct OpenedHead {
  PreadFile file;
  std::string bytes;  // the first kHeader64Size bytes (fewer if the file is shorter)
};

// `host_path` opened for reading (never blocking on a FIFO: O_NONBLOCK) and
// its first bytes; errors name `display`.
Result<OpenedHead> read_head(const std::filesystem::path& host_path, std::string_view display);

}  // namespace elfprune::elf_detail
