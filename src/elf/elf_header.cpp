// The ELF header, parsed the same way for both readers, and the machine
// names the reports use.
#include "elf/elf_header.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace elfprune {

namespace elf_detail {

Result<OpenedHead> read_head(const std::filesystem::path& host_path, std::string_view display) {
  ELFPRUNE_TRY_ASSIGN(PreadFile file, open_regular_file(host_path.c_str(), display));
  auto bytes = file.read(0, std::min<std::uint64_t>(kHeader64Size, file.size()));
  if (!bytes) return make_error(std::string(display), "read error");
  return OpenedHead{std::move(file), std::move(*bytes)};
}

}  // namespace elf_detail

using elf_detail::kHeader32Size;
using elf_detail::kHeader64Size;
using elf_detail::kIdentSize;
using elf_detail::OpenedHead;
using elf_detail::read_head;
using elf_detail::read_uint;

bool has_elf_magic(std::string_view bytes) {
  return bytes.size() >= 4 && bytes.substr(0, 4) == std::string_view(
                                                        "\x7f"
                                                        "ELF",
                                                        4);
}

Result<ElfHeader> parse_elf_header(std::string_view bytes) {
  if (!has_elf_magic(bytes)) return make_error("", "not an ELF file");
  if (bytes.size() < kIdentSize) return make_error("", "truncated ELF header");
  ElfHeader h;
  h.elf_class = static_cast<std::uint8_t>(bytes[4]);
  h.data = static_cast<std::uint8_t>(bytes[5]);
  h.version = static_cast<std::uint8_t>(bytes[6]);
  h.osabi = static_cast<std::uint8_t>(bytes[7]);
  h.abiversion = static_cast<std::uint8_t>(bytes[8]);
  if (h.elf_class != elfconst::kClass32 && h.elf_class != elfconst::kClass64) {
    return make_error("", fmt::format("invalid ELF class {}", h.elf_class));
  }
  if (h.data != elfconst::kDataLsb && h.data != elfconst::kDataMsb) {
    return make_error("", fmt::format("invalid ELF byte order {}", h.data));
  }
  const std::size_t need = h.elf_class == elfconst::kClass64 ? kHeader64Size : kHeader32Size;
  if (bytes.size() < need) return make_error("", "truncated ELF header");
  const bool le = h.data == elfconst::kDataLsb;
  h.type = static_cast<std::uint16_t>(read_uint(bytes, 16, 2, le));
  h.machine = static_cast<std::uint16_t>(read_uint(bytes, 18, 2, le));
  h.e_version = static_cast<std::uint32_t>(read_uint(bytes, 20, 4, le));
  h.phentsize = static_cast<std::uint16_t>(
      read_uint(bytes, h.elf_class == elfconst::kClass64 ? 54 : 42, 2, le));
  for (std::size_t i = 9; i < kIdentSize; ++i) h.ident_padding_zero &= bytes[i] == 0;
  return h;
}

Result<ElfHeader> read_elf_header(const std::filesystem::path& host_path,
                                  std::string_view display) {
  ELFPRUNE_TRY_ASSIGN(const OpenedHead head, read_head(host_path, display));
  auto h = parse_elf_header(head.bytes);
  if (!h) return make_error(std::string(display), h.error().message);
  return h;
}

std::string machine_name(std::uint16_t machine) {
  switch (machine) {
    case elfconst::kMachine386:
      return "i386";
    case elfconst::kMachineX86_64:
      return "x86-64";
    case elfconst::kMachineAarch64:
      return "AArch64";
    case 40:
      return "ARM";
    case 8:
      return "MIPS";
    case 20:
      return "PowerPC";
    case 21:
      return "PowerPC64";
    case 22:
      return "S/390";
    case 243:
      return "RISC-V";
    default:
      return fmt::format("machine {}", machine);
  }
}

}  // namespace elfprune
