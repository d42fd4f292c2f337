// What elfprune needs to know about an ELF file, as a small value type.
// The adapter behind it (src/elf/lief_adapter.cpp) is the only code that includes LIEF.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "elf/dlopen_note.hpp"
#include "util/result.hpp"

namespace elfprune {

namespace elfconst {
inline constexpr std::uint8_t kClass32 = 1;
inline constexpr std::uint8_t kClass64 = 2;
inline constexpr std::uint8_t kDataLsb = 1;
inline constexpr std::uint8_t kDataMsb = 2;
inline constexpr std::uint16_t kTypeExec = 2;
inline constexpr std::uint16_t kTypeDyn = 3;
inline constexpr std::uint16_t kMachine386 = 3;
inline constexpr std::uint16_t kMachineX86_64 = 62;
inline constexpr std::uint16_t kMachineAarch64 = 183;
inline constexpr std::uint64_t kDf1Nodeflib = 0x800;
inline constexpr std::uint64_t kDf1Pie = 0x08000000;
}  // namespace elfconst

// The identification and header fields the loader checks before it accepts
// a candidate file (glibc's open_verify). Read without LIEF: it is cheap and
// must be safe on any bytes.
struct ElfHeader {
  std::uint8_t elf_class = 0;  // elfconst::kClass32 or kClass64
  std::uint8_t data = 0;       // byte order: kDataLsb or kDataMsb
  std::uint8_t version = 0;    // e_ident[EI_VERSION]
  std::uint8_t osabi = 0;
  std::uint8_t abiversion = 0;
  std::uint16_t type = 0;
  std::uint16_t machine = 0;
  std::uint16_t phentsize = 0;
  std::uint32_t e_version = 0;
  bool ident_padding_zero = true;  // e_ident[EI_PAD..] all zero, as glibc demands
};

// Where a string the loader reads lies in the file, for in-place edits
// (--rewrite-ref, --shrink-rpath): its file offset and how many bytes a
// replacement may use, the terminating NUL not counted.
struct ElfStringSlot {
  std::uint64_t offset = 0;
  std::uint64_t capacity = 0;
};

// One DT_VERNEED entry: the versions an object needs of the library it
// names (vn_file, matched against the loaded objects' names), as glibc's
// _dl_check_map_versions checks them at load time.
struct VersionNeed {
  std::string file;
  struct Version {
    std::string name;
    bool weak = false;        // VER_FLG_WEAK: a warning, not a load failure
    std::uint16_t index = 0;  // vna_other: the .gnu.version value of its symbols (bit 15: hidden)
    std::uint32_t hash = 0;   // vna_hash, as written (glibc compares it, not a recomputed one)
  };
  std::vector<Version> versions;
};

// One DT_VERDEF entry: a version this object defines.
struct VersionDef {
  std::string name;         // its first auxiliary entry's name
  std::uint16_t index = 0;  // vd_ndx
  bool base = false;        // VER_FLG_BASE: the object's own name, never matched by a symbol
  std::uint32_t hash = 0;   // vd_hash, as written
};

// Where the tables of the loader's symbol lookup lie in the file (file
// offsets; none when the object has no such table). Found by the fast
// reader from the dynamic section, as the loader finds them.
struct SymbolTables {
  std::optional<std::uint64_t> symtab;    // DT_SYMTAB
  std::uint64_t syment = 0;               // DT_SYMENT (0: not given)
  std::optional<std::uint64_t> hash;      // DT_HASH
  std::optional<std::uint64_t> gnu_hash;  // DT_GNU_HASH
  std::optional<std::uint64_t> versym;    // DT_VERSYM
  std::uint64_t strsz = 0;                // DT_STRSZ, bounded by the file
  // DT_RELA/DT_RELASZ, DT_REL/DT_RELSZ, DT_JMPREL/DT_PLTRELSZ: the
  // relocations whose symbols the loader looks up. offset: none when the
  // address is in no loaded segment.
  struct Relocations {
    std::optional<std::uint64_t> offset;
    std::uint64_t size = 0;
    bool rela = true;
    const char* tag = "DT_RELA";  // the entry that names it, for messages
  };
  std::vector<Relocations> relocations;
};

struct ElfInfo {
  ElfHeader header;
  bool dynamic = false;  // has a PT_DYNAMIC segment
  std::optional<std::string> interpreter;
  std::vector<std::string> needed;
  std::optional<std::string> rpath;    // DT_RPATH, raw (may be empty)
  std::optional<std::string> runpath;  // DT_RUNPATH, raw
  std::optional<std::string> soname;
  std::uint64_t flags = 0;                 // DT_FLAGS
  std::uint64_t flags_1 = 0;               // DT_FLAGS_1
  std::vector<DlopenDependency> dlopen;    // from FDO .note.dlopen notes
  std::vector<VersionNeed> version_needs;  // DT_VERNEED, in table order
  // DT_VERDEF: the version names this object defines (the base one, its
  // soname, included); has_version_defs is false without the table, which
  // glibc treats as "no version information", not as a failure.
  std::vector<VersionDef> version_defs;
  bool has_version_defs = false;
  bool defines_version(std::string_view name) const {
    for (const auto& d : version_defs) {
      if (d.name == name) return true;
    }
    return false;
  }
  std::vector<std::string> warnings;  // recoverable oddities (bad dlopen JSON, ...)
  // Set by read_elf only (the fast reader), for editing.
  std::optional<ElfStringSlot> interpreter_slot, rpath_slot, runpath_slot;
  std::uint64_t dynstr_offset = 0;  // file offset of DT_STRTAB
  SymbolTables symbol_tables;
  std::vector<std::uint64_t> dynstr_refs;  // string-table offsets the dynamic entries name

  bool nodeflib() const { return (flags_1 & elfconst::kDf1Nodeflib) != 0; }
  // A program to run rather than a library to load: it asks for a loader
  // and is ET_EXEC or a PIE (libc.so.6 asks for one too, but is neither).
  bool is_program() const {
    return interpreter.has_value() &&
           (header.type == elfconst::kTypeExec || (flags_1 & elfconst::kDf1Pie) != 0);
  }
};

// True when the bytes start with the ELF magic.
bool has_elf_magic(std::string_view bytes);

// Parse the ELF header from the first bytes of a file. Errors name no path;
// the caller adds it.
Result<ElfHeader> parse_elf_header(std::string_view bytes);

// Read the first bytes of `host_path` and parse them. `display` is the path
// used in error messages (the path inside the root).
Result<ElfHeader> read_elf_header(const std::filesystem::path& host_path, std::string_view display);

// What the loader reads, with a bounds-checked reader of the ELF header,
// program headers, PT_INTERP, PT_DYNAMIC (and its strings) and PT_NOTE: fast
// and safe on any bytes. Not ELF, truncated or malformed files give an error
// naming `display`, never a crash.
Result<ElfInfo> read_elf(const std::filesystem::path& host_path, std::string_view display);

// The same value through a full LIEF parse (every section, symbol and
// relocation): slower, for full inspection and for checking the fast reader.
Result<ElfInfo> read_elf_with_lief(const std::filesystem::path& host_path,
                                   std::string_view display);

// String-table offsets of the names in .dynsym (found through the section
// headers; empty when the file has none): strings an edit of the dynamic
// string table must not overwrite, since linkers share string tails.
std::vector<std::uint64_t> dynsym_name_offsets(std::string_view bytes);

// The parts of an ELF file where the strings a program reads at run time
// can lie: sections that are loaded (SHF_ALLOC), not code (no
// SHF_EXECINSTR) and not a binary table (symbols, relocations, hashes,
// versions, pointer arrays). In libnode that is 8 MB of its 47 MB; the
// rest (code, symbol tables, debug data) names no file the program opens.
// A file without a usable section header table gives the whole file. The
// views are into `bytes`, sorted, adjacent sections merged.
std::vector<std::string_view> elf_string_regions(std::string_view bytes);

// The same, as byte ranges of an open file of `size` bytes, reading only
// its header and section table (pread: `fd` is not moved).
struct FileRange {
  std::uint64_t begin = 0, end = 0;  // [begin, end)
};
std::vector<FileRange> elf_string_ranges(int fd, std::uint64_t size);

// "x86-64", "AArch64", ... for messages.
std::string machine_name(std::uint16_t machine);

}  // namespace elfprune
