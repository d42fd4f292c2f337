// ELF files are the most hostile input elfprune reads: any file of the tree
// may be one. The fast reader must read or refuse any bytes, and the LIEF
// adapter must never hand LIEF a file it crashes on.
#include <fcntl.h>
#include <unistd.h>

#include <initializer_list>
#include <string>

#include "elf/dynamic_symbols.hpp"
#include "elf/elf_info.hpp"
#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"

namespace elfprune::fuzz {
namespace {

constexpr std::string_view kShown = "/fuzz/input";

bool same_header(const ElfHeader& a, const ElfHeader& b) {
  return a.elf_class == b.elf_class && a.data == b.data && a.version == b.version &&
         a.osabi == b.osabi && a.abiversion == b.abiversion && a.type == b.type &&
         a.machine == b.machine && a.phentsize == b.phentsize && a.e_version == b.e_version &&
         a.ident_padding_zero == b.ident_padding_zero;
}

bool has_nul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

// Strings from the dynamic section end at their NUL: the resolver uses them
// as file names and search paths.
void check_strings(const ElfInfo& info) {
  FUZZ_CHECK(!info.interpreter || !has_nul(*info.interpreter));
  for (const auto& name : info.needed) FUZZ_CHECK(!has_nul(name));
  for (const auto* s : {&info.rpath, &info.runpath, &info.soname}) FUZZ_CHECK(!*s || !has_nul(**s));
}

// The symbol tables the binder reads: read or refused with the file's name,
// and every lookup the binder makes stays inside them (ASan checks).
void check_symbols(const MemFile& file, const ElfInfo& info) {
  const auto symbols = read_dynamic_symbols(file.path(), kShown, info);
  if (!symbols) {
    FUZZ_CHECK(symbols.error().path == kShown && !symbols.error().message.empty());
    return;
  }
  for (const auto& r : symbols->strong_references()) {
    FUZZ_CHECK(r.index < symbols->size());
    const DynamicSymbol s = symbols->symbol(r.index);
    const VersionSlot* version = symbols->wanted_version(r.index);
    const SymbolLookup hit =
        symbols->find(s.name, gnu_hash_of(s.name), elf_hash_of(s.name), version);
    FUZZ_CHECK(!hit.index || *hit.index < symbols->size());
  }
  // Defined names too: the hash chains are walked for each.
  for (std::size_t i = 0; i < symbols->size() && i < 256; ++i) {
    const DynamicSymbol s = symbols->symbol(i);
    const SymbolLookup hit =
        symbols->find(s.name, gnu_hash_of(s.name), elf_hash_of(s.name), nullptr);
    FUZZ_CHECK(!hit.index || *hit.index < symbols->size());
  }
}

}  // namespace

void elf(std::string_view bytes) {
  static const MemFile file;
  file.replace(bytes);
  const auto header = read_elf_header(file.path(), kShown);
  const auto fast = read_elf(file.path(), kShown);
  const auto full = read_elf_with_lief(file.path(), kShown);

  // Every refusal names the file and says why (docs/design.md: a clear message
  // naming the file).
  if (!header) FUZZ_CHECK(header.error().path == kShown && !header.error().message.empty());
  if (!fast) FUZZ_CHECK(fast.error().path == kShown && !fast.error().message.empty());
  if (!full) FUZZ_CHECK(full.error().path == kShown && !full.error().message.empty());

  // The bytes-level header parser and the file one are the same check.
  const auto direct = parse_elf_header(bytes.substr(0, 64));
  FUZZ_CHECK(direct.ok() == header.ok());
  if (header) FUZZ_CHECK(has_elf_magic(bytes) && same_header(*direct, *header));

  // Neither reader accepts a file whose header the loader's first look
  // refuses, and both report that header.
  if (fast) {
    FUZZ_CHECK(header.ok() && same_header(fast->header, *header));
    check_strings(*fast);
    check_symbols(file, *fast);
  }
  if (full) {
    FUZZ_CHECK(header.ok() && same_header(full->header, *header));
    FUZZ_CHECK(!full->interpreter || !has_nul(*full->interpreter));
  }

  // The closure's scan ranges, read from the file, are the byte-level ones.
  const int fd = ::open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
  FUZZ_CHECK(fd >= 0);
  const auto ranges = elf_string_ranges(fd, bytes.size());
  ::close(fd);
  const auto regions = elf_string_regions(bytes);
  FUZZ_CHECK(ranges.size() == regions.size());
  for (std::size_t i = 0; i < ranges.size() && i < regions.size(); ++i) {
    FUZZ_CHECK(ranges[i].begin == static_cast<std::uint64_t>(regions[i].data() - bytes.data()));
    FUZZ_CHECK(ranges[i].end - ranges[i].begin == regions[i].size());
    FUZZ_CHECK(ranges[i].begin <= ranges[i].end && ranges[i].end <= bytes.size());
  }
}

}  // namespace elfprune::fuzz
