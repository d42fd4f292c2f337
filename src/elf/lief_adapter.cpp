// The LIEF adapter: the only file that includes LIEF. It turns a file into
// an ElfInfo value and makes sure that no input, however malformed, reaches
// LIEF before the cheap checks below have accepted it.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <LIEF/ELF.hpp>
#include <LIEF/exception.hpp>
#include <LIEF/logging.hpp>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <utility>

#include "elf/dynamic_symbols.hpp"
#include "elf/elf_header.hpp"
#include "elf/elf_info.hpp"

namespace elfprune {
namespace {

using elf_detail::OpenedHead;
using elf_detail::read_head;
using elf_detail::read_uint;

constexpr std::uint16_t kVerFlagBase = 0x1;  // VER_FLG_BASE
constexpr std::uint16_t kVerFlagWeak = 0x2;  // VER_FLG_WEAK

// Fields of the header that locate the program headers, for the sanity
// check that keeps truncated files away from LIEF.
struct HeaderLayout {
  std::uint64_t phoff = 0;
  std::uint16_t phnum = 0;
  std::uint64_t shoff = 0;
  std::uint16_t shnum = 0;
  std::uint16_t shentsize = 0;
};

HeaderLayout layout_of(std::string_view bytes, const ElfHeader& h) {
  const bool le = h.data == elfconst::kDataLsb;
  HeaderLayout l;
  if (h.elf_class == elfconst::kClass64) {
    l.phoff = read_uint(bytes, 32, 8, le);
    l.shoff = read_uint(bytes, 40, 8, le);
    l.phnum = static_cast<std::uint16_t>(read_uint(bytes, 56, 2, le));
    l.shentsize = static_cast<std::uint16_t>(read_uint(bytes, 58, 2, le));
    l.shnum = static_cast<std::uint16_t>(read_uint(bytes, 60, 2, le));
  } else {
    l.phoff = read_uint(bytes, 28, 4, le);
    l.shoff = read_uint(bytes, 32, 4, le);
    l.phnum = static_cast<std::uint16_t>(read_uint(bytes, 44, 2, le));
    l.shentsize = static_cast<std::uint16_t>(read_uint(bytes, 46, 2, le));
    l.shnum = static_cast<std::uint16_t>(read_uint(bytes, 48, 2, le));
  }
  return l;
}

// What LIEF 0.9 would choke on, checked before it sees the file; nullopt
// when nothing is known to. LIEF trusts the header's table offsets, and
// before it reads a section or a segment it grows its copy of the file to
// offset + size and zero-fills it, so a single size beyond the end of the
// file costs up to 2^64 bytes of memory and time (found by
// tests/fuzz/elf_fuzz.cpp). Real files keep both inside the file.
std::optional<std::string> lief_would_choke(const OpenedHead& head, const ElfHeader& h) {
  const PreadFile& file = head.file;
  const HeaderLayout l = layout_of(head.bytes, h);
  const bool is64 = h.elf_class == elfconst::kClass64;
  const bool le = h.data == elfconst::kDataLsb;
  const std::uint64_t phent = is64 ? 56 : 32;
  const std::uint64_t shent = is64 ? 64 : 40;
  const auto phdrs = file.read(l.phoff, l.phnum * phent);
  if (l.phnum > 0 && (h.phentsize != phent || !phdrs)) {
    return "program headers lie outside the file";
  }
  const auto shdrs = file.read(l.shoff, l.shnum * shent);
  if (l.shnum > 0 && (l.shentsize != shent || !shdrs)) {
    return "section headers lie outside the file";
  }
  auto inside = [&file](std::uint64_t offset, std::uint64_t size) {
    return offset <= file.size() && size <= file.size() - offset;
  };
  for (std::uint16_t i = 0; i < l.phnum; ++i) {
    const std::size_t at = i * phent;
    const std::uint64_t offset = read_uint(*phdrs, at + (is64 ? 8 : 4), is64 ? 8 : 4, le);
    const std::uint64_t filesz = read_uint(*phdrs, at + (is64 ? 32 : 16), is64 ? 8 : 4, le);
    if (!inside(offset, filesz)) return fmt::format("segment {} lies outside the file", i);
  }
  constexpr std::uint64_t kShtNobits = 8;  // takes no room in the file
  for (std::uint16_t i = 0; i < l.shnum; ++i) {
    const std::size_t at = i * shent;
    const std::uint64_t type = read_uint(*shdrs, at + 4, 4, le);
    const std::uint64_t offset = read_uint(*shdrs, at + (is64 ? 24 : 16), is64 ? 8 : 4, le);
    const std::uint64_t size = read_uint(*shdrs, at + (is64 ? 32 : 20), is64 ? 8 : 4, le);
    if (type != kShtNobits && !inside(offset, size)) {
      return fmt::format("section {} lies outside the file", i);
    }
  }
  return std::nullopt;
}

void quiet_lief() {
  static std::once_flag once;
  std::call_once(once, [] { LIEF::Logger::disable(); });
}

}  // namespace

namespace {

// A guarded LIEF parse of the whole file.
Result<std::unique_ptr<LIEF::ELF::Binary>> parse_with_lief(const std::filesystem::path& host_path,
                                                           std::string_view display,
                                                           ElfHeader* header_out) {
  const std::string shown(display);
  ELFPRUNE_TRY_ASSIGN(const OpenedHead head, read_head(host_path, display));
  auto header = parse_elf_header(head.bytes);
  if (!header) return make_error(shown, header.error().message);
  if (auto choke = lief_would_choke(head, *header)) return make_error(shown, *choke);
  if (header_out != nullptr) *header_out = *header;
  quiet_lief();
  std::unique_ptr<LIEF::ELF::Binary> bin;
  try {
    bin = LIEF::ELF::Parser::parse(host_path.string());
  } catch (const std::exception& e) {
    return make_error(shown, fmt::format("malformed ELF file ({})", e.what()));
  } catch (...) {
    return make_error(shown, "malformed ELF file");
  }
  if (!bin) return make_error(shown, "malformed ELF file");
  return bin;
}

}  // namespace

Result<std::vector<SymbolRow>> read_symbol_rows_with_lief(const std::filesystem::path& host_path,
                                                          std::string_view display) {
  ELFPRUNE_TRY_ASSIGN(auto bin, parse_with_lief(host_path, display, nullptr));
  std::vector<SymbolRow> out;
  try {
    for (const LIEF::ELF::Symbol& s : bin->dynamic_symbols()) {
      SymbolRow row;
      row.name = s.name();
      row.bind = static_cast<std::uint8_t>(s.binding());
      row.type = static_cast<std::uint8_t>(s.type());
      row.undefined = s.shndx() == 0;
      if (s.has_version()) row.versym = s.symbol_version().value();
      out.push_back(std::move(row));
    }
  } catch (const std::exception& e) {
    return make_error(std::string(display), fmt::format("malformed ELF file ({})", e.what()));
  }
  return out;
}

Result<ElfInfo> read_elf_with_lief(const std::filesystem::path& host_path,
                                   std::string_view display) {
  const std::string shown(display);
  ElfHeader parsed_header;
  ELFPRUNE_TRY_ASSIGN(auto bin, parse_with_lief(host_path, display, &parsed_header));

  ElfInfo info;
  info.header = parsed_header;
  try {
    for (const LIEF::ELF::Segment& seg : bin->segments()) {
      if (seg.type() == LIEF::ELF::SEGMENT_TYPES::PT_DYNAMIC) info.dynamic = true;
    }
    if (bin->has_interpreter()) {
      // The kernel stops at the first NUL; LIEF may keep trailing bytes.
      std::string interp = bin->interpreter();
      if (auto nul = interp.find('\0'); nul != std::string::npos) interp.resize(nul);
      info.interpreter = interp;
    }
    using LIEF::ELF::DYNAMIC_TAGS;
    // glibc keeps the last entry of a tag that should appear once
    // (get-dynamic-info.h overwrites), so later entries win here too.
    for (const LIEF::ELF::DynamicEntry& e : bin->dynamic_entries()) {
      switch (e.tag()) {
        case DYNAMIC_TAGS::DT_NEEDED:
          info.needed.push_back(static_cast<const LIEF::ELF::DynamicEntryLibrary&>(e).name());
          break;
        case DYNAMIC_TAGS::DT_RPATH:
          info.rpath = static_cast<const LIEF::ELF::DynamicEntryRpath&>(e).name();
          break;
        case DYNAMIC_TAGS::DT_RUNPATH:
          info.runpath = static_cast<const LIEF::ELF::DynamicEntryRunPath&>(e).name();
          break;
        case DYNAMIC_TAGS::DT_SONAME:
          info.soname = static_cast<const LIEF::ELF::DynamicSharedObject&>(e).name();
          break;
        case DYNAMIC_TAGS::DT_FLAGS:
          info.flags = e.value();
          break;
        case DYNAMIC_TAGS::DT_FLAGS_1:
          info.flags_1 = e.value();
          break;
        default:
          break;
      }
    }
    // The version tables, as LIEF parses them from DT_VERNEED / DT_VERDEF.
    for (const LIEF::ELF::SymbolVersionRequirement& req : bin->symbols_version_requirement()) {
      VersionNeed vn;
      vn.file = req.name();
      for (const LIEF::ELF::SymbolVersionAuxRequirement& aux : req.auxiliary_symbols()) {
        vn.versions.push_back({aux.name(), (aux.flags() & kVerFlagWeak) != 0,
                               static_cast<std::uint16_t>(aux.other()),
                               static_cast<std::uint32_t>(aux.hash())});
      }
      info.version_needs.push_back(std::move(vn));
    }
    for (const LIEF::ELF::SymbolVersionDefinition& def : bin->symbols_version_definition()) {
      info.has_version_defs = true;
      for (const LIEF::ELF::SymbolVersionAux& aux : def.symbols_aux()) {
        info.version_defs.push_back({aux.name(), static_cast<std::uint16_t>(def.ndx()),
                                     (def.flags() & kVerFlagBase) != 0,
                                     static_cast<std::uint32_t>(def.hash())});
        break;  // the first auxiliary entry names the version; others name its parents
      }
    }
    for (const LIEF::ELF::Note& note : bin->notes()) {
      if (note.name() != kNoteOwnerFdo ||
          static_cast<std::uint32_t>(note.type()) != kNoteTypeFdoDlopen) {
        continue;
      }
      const auto& desc = note.description();
      auto parsed = parse_dlopen_note(
          std::string_view(reinterpret_cast<const char*>(desc.data()), desc.size()));
      if (parsed) {
        for (auto& d : *parsed) info.dlopen.push_back(std::move(d));
      } else {
        info.warnings.push_back(fmt::format(".note.dlopen: {}", parsed.error().message));
      }
    }
  } catch (const std::exception& e) {
    return make_error(shown, fmt::format("malformed ELF file ({})", e.what()));
  }
  return info;
}

}  // namespace elfprune
