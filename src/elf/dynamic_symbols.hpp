// The dynamic symbol table as the loader's symbol lookup reads it (glibc's
// do_lookup_x and check_match, elf/dl-lookup.c): the symbols, their
// .gnu.version indices, the object's version index (l_versions), and the
// hash table that finds definitions. Read with bounds checks from the tables
// the dynamic section names; LIEF reads the same (read_dynamic_symbols_with_lief)
// as the test oracle.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "elf/elf_info.hpp"
#include "util/result.hpp"

namespace elfprune {

namespace symconst {
inline constexpr std::uint8_t kBindLocal = 0;
inline constexpr std::uint8_t kBindGlobal = 1;
inline constexpr std::uint8_t kBindWeak = 2;
inline constexpr std::uint8_t kBindGnuUnique = 10;
inline constexpr std::uint8_t kTypeTls = 6;
inline constexpr std::uint8_t kVisHidden = 2;
inline constexpr std::uint8_t kVisInternal = 1;
inline constexpr std::uint16_t kShnUndef = 0;
inline constexpr std::uint16_t kShnAbs = 0xfff1;
inline constexpr std::uint16_t kVersymHidden = 0x8000;
}  // namespace symconst

// One entry of an object's version index, as glibc's _dl_check_map_versions
// fills l_versions: from its DT_VERNEED entries (a version it asks of the
// library `file`) and its non-base DT_VERDEF entries (a version it defines).
// hash 0: no version (indices 0 and 1, the base definition, unused slots).
struct VersionSlot {
  std::string name;
  std::uint32_t hash = 0;
  std::string file;     // vn_file of a need; empty for a definition
  bool hidden = false;  // a need whose vna_other has bit 15
};

struct DynamicSymbol {
  std::string_view name;
  std::uint8_t bind = 0, type = 0, visibility = 0;
  std::uint16_t shndx = 0;
  std::uint64_t value = 0;
  std::uint16_t versym = 1;  // the .gnu.version entry (1, global, without the table)

  bool undefined() const { return shndx == symconst::kShnUndef; }
};

// What a lookup in one object found: the definition's index, if any.
struct SymbolLookup {
  std::optional<std::size_t> index;
};

class DynamicSymbols {
 public:
  DynamicSymbols() = default;

  // Symbols read, index 0 (the null symbol) included: those the hash table
  // reaches and those relocations name (the loader knows no other count).
  std::size_t size() const { return count_; }
  DynamicSymbol symbol(std::size_t index) const;
  bool has_versym() const { return !versym_.empty(); }

  // The version a reference through symbol `index` asks for: nullptr for
  // an unversioned lookup (glibc passes no version when its hash is 0).
  const VersionSlot* wanted_version(std::size_t index) const;

  // The references the loader binds and must satisfy: the symbols its
  // relocations name that are undefined here, not local or hidden (those
  // bind to the object itself) and not weak (a weak one left undefined is
  // no error); and those of copy relocations, which a program's own
  // definition cannot satisfy. Each symbol once, in table order.
  struct Reference {
    std::size_t index = 0;
    bool copy = false;  // looked up past the main program (ELF_RTYPE_CLASS_COPY)
  };
  const std::vector<Reference>& strong_references() const { return references_; }

  // The definition of `name` that a lookup asking `version` (nullptr: none)
  // finds in this object, as glibc's do_lookup_x does for one object of the
  // scope: through the hash table, with check_match's rules (no undefined
  // or valueless symbols, only data and code types, a versioned reference
  // binds to that version or to a non-hidden base definition, an
  // unversioned one to the base or the only non-hidden version) and
  // do_lookup_x's (local, hidden and internal symbols are skipped).
  // `gnu_hash` / `elf_hash`: the name's hashes (gnu_hash_of, elf_hash_of).
  SymbolLookup find(std::string_view name, std::uint32_t gnu_hash, std::uint32_t elf_hash,
                    const VersionSlot* version) const;

  std::vector<std::string> warnings;  // e.g. "no hash table: nothing can bind to it"

 private:
  friend Result<DynamicSymbols> read_dynamic_symbols(const std::filesystem::path&, std::string_view,
                                                     const ElfInfo&);
  bool matches(std::size_t index, std::string_view name, const VersionSlot* version,
               std::size_t& versioned, int& versions) const;

  bool is64_ = true, le_ = true;
  std::size_t count_ = 0;
  std::string symtab_;  // count_ entries
  std::string strtab_;
  std::vector<std::uint16_t> versym_;  // empty without DT_VERSYM
  std::vector<VersionSlot> versions_;  // l_versions
  // DT_GNU_HASH, when there (the loader prefers it), else DT_HASH.
  bool gnu_ = false;
  std::uint32_t symoffset_ = 0, bloom_shift_ = 0;
  std::vector<std::uint64_t> bloom_;
  std::vector<std::uint32_t> buckets_;
  std::vector<std::uint32_t> chains_;  // GNU: from symoffset_; SysV: one per symbol
  std::vector<Reference> references_;
};

// glibc's dl_new_hash (DT_GNU_HASH) and _dl_elf_hash (DT_HASH).
std::uint32_t gnu_hash_of(std::string_view name);
std::uint32_t elf_hash_of(std::string_view name);

// The tables of `info` (from read_elf of the same file) read from
// `host_path`. A table that lies (outside the file, a chain that runs past
// the symbol table, a .gnu.version shorter than .dynsym, a version index
// out of range, a name outside the string table) is an error naming
// `display` and the table.
Result<DynamicSymbols> read_dynamic_symbols(const std::filesystem::path& host_path,
                                            std::string_view display, const ElfInfo& info);

// The same symbols through LIEF, for checking the reader: each dynamic
// symbol's name, binding, type, whether it is undefined and its raw
// .gnu.version entry, in table order.
struct SymbolRow {
  std::string name;
  std::uint8_t bind = 0, type = 0;
  bool undefined = false;
  std::uint16_t versym = 1;
  bool operator==(const SymbolRow&) const = default;
};
Result<std::vector<SymbolRow>> read_symbol_rows_with_lief(const std::filesystem::path& host_path,
                                                          std::string_view display);
// And through the reader, in the same form.
std::vector<SymbolRow> symbol_rows(const DynamicSymbols& symbols);

}  // namespace elfprune
