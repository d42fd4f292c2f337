// The fast path of the ELF adapter: a bounds-checked reader of exactly what
// the loader reads (ELF header, program headers, PT_INTERP, PT_DYNAMIC and
// the strings it names, PT_NOTE), with pread and no copy of the file.
// LIEF 0.9 parses every section, symbol and relocation of a file and copies
// it whole into memory (2 s and 150 MB for libnode's deps on this machine);
// this reader does the same job for the resolver in a few milliseconds.
// read_elf_with_lief() stays for full inspection, and a test checks that
// both agree on every ELF file of a Debian root.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "elf/elf_info.hpp"
#include "util/fd.hpp"

namespace elfprune {
namespace {

constexpr std::uint32_t kPtLoad = 1;
constexpr std::uint32_t kPtDynamic = 2;
constexpr std::uint32_t kPtInterp = 3;
constexpr std::uint32_t kPtNote = 4;
constexpr std::int64_t kDtNull = 0;
constexpr std::int64_t kDtNeeded = 1;
constexpr std::int64_t kDtStrtab = 5;
constexpr std::int64_t kDtStrsz = 10;
constexpr std::int64_t kDtSoname = 14;
constexpr std::int64_t kDtRpath = 15;
constexpr std::int64_t kDtRunpath = 29;
constexpr std::int64_t kDtFlags = 30;
constexpr std::int64_t kDtFlags1 = 0x6ffffffb;
constexpr std::int64_t kDtVerdef = 0x6ffffffc;
constexpr std::int64_t kDtVerdefnum = 0x6ffffffd;
constexpr std::int64_t kDtVerneed = 0x6ffffffe;
constexpr std::int64_t kDtVerneednum = 0x6fffffff;
constexpr std::uint16_t kVerFlagBase = 0x1;
constexpr std::uint16_t kVerFlagWeak = 0x2;
constexpr std::int64_t kDtHash = 4;
constexpr std::int64_t kDtSymtab = 6;
constexpr std::int64_t kDtSyment = 11;
constexpr std::int64_t kDtGnuHash = 0x6ffffef5;
constexpr std::int64_t kDtVersym = 0x6ffffff0;
constexpr std::int64_t kDtPltrelsz = 2;
constexpr std::int64_t kDtRela = 7;
constexpr std::int64_t kDtRelasz = 8;
constexpr std::int64_t kDtRel = 17;
constexpr std::int64_t kDtRelsz = 18;
constexpr std::int64_t kDtPltrel = 20;
constexpr std::int64_t kDtJmprel = 23;
// More entries than any real object has (libc defines ~45 versions): a
// bound on loops in a hostile chain of vn_next/vd_next offsets.
constexpr std::uint64_t kMaxVersionEntries = 4096;
constexpr std::int64_t kDtAuxiliary = 0x7ffffffd;
constexpr std::int64_t kDtFilter = 0x7fffffff;
constexpr std::uint32_t kShtDynsym = 11;
constexpr std::size_t kMaxPhdrs = 65535;

struct Phdr {
  std::uint32_t type = 0;
  std::uint64_t offset = 0, vaddr = 0, filesz = 0, align = 0;
};

class Reader {
 public:
  Reader(std::string_view bytes, bool little) : b_(bytes), le_(little) {}
  std::uint64_t u(std::size_t off, std::size_t width) const {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) {
      const auto byte = static_cast<unsigned char>(b_[off + i]);
      v = le_ ? v | (static_cast<std::uint64_t>(byte) << (8 * i)) : (v << 8) | byte;
    }
    return v;
  }

 private:
  std::string_view b_;
  bool le_;
};

// The dynamic string table, read a string at a time: it holds every
// exported symbol's name too (megabytes in libnode), and the loader needs
// only the few that DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH name.
class StringTable {
 public:
  explicit StringTable(const PreadFile& file) : file_(file) {}

  // The table's place in the file; false when it does not fit in it (or
  // exceeds the cap), as a whole read of it would have failed.
  bool place(std::uint64_t off, std::uint64_t len) {
    if (off > file_.size() || len > file_.size() - off || len > kMaxRead) return false;
    off_ = off;
    len_ = len;
    return true;
  }

  // The NUL-terminated string at `off`, or nullopt when it runs past the
  // table (or cannot be read).
  std::optional<std::string> at(std::uint64_t off) const {
    if (off >= len_) return std::nullopt;
    std::string out;
    for (std::uint64_t pos = off; pos < len_;) {
      const std::uint64_t want = std::min<std::uint64_t>(kChunk, len_ - pos);
      auto chunk = file_.read(off_ + pos, want);
      if (!chunk) return std::nullopt;
      const auto nul = chunk->find('\0');
      if (nul != std::string::npos) return out.append(*chunk, 0, nul);
      out += *chunk;
      pos += want;
    }
    return std::nullopt;
  }

 private:
  static constexpr std::uint64_t kChunk = 256;  // most names and paths fit
  const PreadFile& file_;
  std::uint64_t off_ = 0, len_ = 0;
};

std::uint64_t align_up(std::uint64_t v, std::uint64_t a) {
  return (v + a - 1) / a * a;
}

}  // namespace

namespace {

// DT_VERNEED and DT_VERDEF, as the loader reads them: chains of entries
// linked by byte offsets, each naming strings of the dynamic string table.
// A table that does not fit the file, or loops, is a warning naming it: the
// rest of what the loader reads still counts.
template <class ToOffset, class Strings>
void read_versions(const PreadFile& file, bool le,
                   const std::vector<std::pair<std::int64_t, std::uint64_t>>& entries,
                   const ToOffset& to_offset, const Strings& strings, ElfInfo& info) {
  std::uint64_t need = 0, need_num = 0, def = 0, def_num = 0;
  bool have_need = false, have_def = false;
  for (const auto& [tag, val] : entries) {
    if (tag == kDtVerneed) {
      need = val;
      have_need = true;
    } else if (tag == kDtVerneednum) {
      need_num = val;
    } else if (tag == kDtVerdef) {
      def = val;
      have_def = true;
    } else if (tag == kDtVerdefnum) {
      def_num = val;
    }
  }
  auto read_at = [&](std::uint64_t off, std::size_t len) -> std::optional<std::string> {
    return file.read(off, len);
  };
  auto string_at = [&](std::uint64_t off) -> std::optional<std::string> {
    auto s = strings.at(off);
    if (s) info.dynstr_refs.push_back(off);
    return s;
  };
  if (have_need) {
    auto off = to_offset(need);
    bool bad = !off;
    for (std::uint64_t n = 0; !bad && n < std::min(need_num, kMaxVersionEntries); ++n) {
      auto e = read_at(*off, 16);
      if (!e) {
        bad = true;
        break;
      }
      const Reader r(*e, le);
      const auto cnt = r.u(2, 2);
      auto file_name = string_at(r.u(4, 4));
      if (!file_name) {
        bad = true;
        break;
      }
      VersionNeed vn;
      vn.file = std::move(*file_name);
      std::uint64_t aux = *off + r.u(8, 4);
      for (std::uint64_t k = 0; k < std::min<std::uint64_t>(cnt, kMaxVersionEntries); ++k) {
        auto a = read_at(aux, 16);
        if (!a) {
          bad = true;
          break;
        }
        const Reader ar(*a, le);
        auto name = string_at(ar.u(8, 4));
        if (!name) {
          bad = true;
          break;
        }
        vn.versions.push_back({std::move(*name), (ar.u(4, 2) & kVerFlagWeak) != 0,
                               static_cast<std::uint16_t>(ar.u(6, 2)),
                               static_cast<std::uint32_t>(ar.u(0, 4))});
        const auto next = ar.u(12, 4);
        if (next == 0) break;
        aux += next;
      }
      info.version_needs.push_back(std::move(vn));
      const auto next = r.u(12, 4);
      if (next == 0) break;
      *off += next;
    }
    if (bad) info.warnings.push_back("DT_VERNEED lies outside the file or its string table");
  }
  if (have_def) {
    info.has_version_defs = true;
    auto off = to_offset(def);
    bool bad = !off;
    for (std::uint64_t n = 0; !bad && n < std::min(def_num, kMaxVersionEntries); ++n) {
      auto e = read_at(*off, 20);
      if (!e) {
        bad = true;
        break;
      }
      const Reader r(*e, le);
      if (r.u(6, 2) > 0) {  // vd_cnt: the first auxiliary entry names the version
        auto a = read_at(*off + r.u(12, 4), 8);
        auto name = a ? string_at(Reader(*a, le).u(0, 4)) : std::nullopt;
        if (!name) {
          bad = true;
          break;
        }
        info.version_defs.push_back({std::move(*name), static_cast<std::uint16_t>(r.u(4, 2)),
                                     (r.u(2, 2) & kVerFlagBase) != 0,
                                     static_cast<std::uint32_t>(r.u(8, 4))});
      }
      const auto next = r.u(16, 4);
      if (next == 0) break;
      *off += next;
    }
    if (bad) info.warnings.push_back("DT_VERDEF lies outside the file or its string table");
  }
}

// Where the relocation tables lie (read later, by read_dynamic_symbols,
// only when symbols are bound). The last entry of a tag wins, as in glibc.
template <class ToOffset>
void read_relocation_tables(const std::vector<std::pair<std::int64_t, std::uint64_t>>& entries,
                            const ToOffset& to_offset, ElfInfo& info) {
  std::optional<std::uint64_t> rela, rel, jmprel;
  std::uint64_t relasz = 0, relsz = 0, pltrelsz = 0, pltrel = kDtRela;
  for (const auto& [tag, val] : entries) {
    switch (tag) {
      case kDtRela:
        rela = val;
        break;
      case kDtRelasz:
        relasz = val;
        break;
      case kDtRel:
        rel = val;
        break;
      case kDtRelsz:
        relsz = val;
        break;
      case kDtJmprel:
        jmprel = val;
        break;
      case kDtPltrelsz:
        pltrelsz = val;
        break;
      case kDtPltrel:
        pltrel = val;
        break;
      default:
        break;
    }
  }
  auto& out = info.symbol_tables.relocations;
  if (rela && relasz > 0) out.push_back({to_offset(*rela), relasz, true, "DT_RELA"});
  if (rel && relsz > 0) out.push_back({to_offset(*rel), relsz, false, "DT_REL"});
  if (jmprel && pltrelsz > 0) {
    out.push_back({to_offset(*jmprel), pltrelsz, pltrel == kDtRela, "DT_JMPREL"});
  }
}

}  // namespace

Result<ElfInfo> read_elf(const std::filesystem::path& host_path, std::string_view display) {
  const std::string shown(display);
  ELFPRUNE_TRY_ASSIGN(const PreadFile file, open_regular_file(host_path.c_str(), display));
  const std::string head = file.read(0, std::min<std::uint64_t>(64, file.size())).value_or("");
  auto header = parse_elf_header(head);
  if (!header) return make_error(shown, header.error().message);

  ElfInfo info;
  info.header = *header;
  const bool is64 = header->elf_class == elfconst::kClass64;
  const bool le = header->data == elfconst::kDataLsb;
  const Reader h(head, le);
  const std::uint64_t phoff = h.u(is64 ? 32 : 28, is64 ? 8 : 4);
  const std::size_t phnum = static_cast<std::size_t>(h.u(is64 ? 56 : 44, 2));
  const std::size_t phent = is64 ? 56 : 32;
  if (phnum > 0 && header->phentsize != phent) {
    return make_error(shown, "program headers lie outside the file");
  }
  if (phnum > kMaxPhdrs) return make_error(shown, "too many program headers");
  auto table = file.read(phoff, static_cast<std::uint64_t>(phnum) * phent);
  if (!table) return make_error(shown, "program headers lie outside the file");

  std::vector<Phdr> phdrs;
  const Reader p(*table, le);
  for (std::size_t i = 0; i < phnum; ++i) {
    const std::size_t o = i * phent;
    Phdr ph;
    ph.type = static_cast<std::uint32_t>(p.u(o, 4));
    if (is64) {
      ph.offset = p.u(o + 8, 8);
      ph.vaddr = p.u(o + 16, 8);
      ph.filesz = p.u(o + 32, 8);
      ph.align = p.u(o + 48, 8);
    } else {
      ph.offset = p.u(o + 4, 4);
      ph.vaddr = p.u(o + 8, 4);
      ph.filesz = p.u(o + 16, 4);
      ph.align = p.u(o + 28, 4);
    }
    phdrs.push_back(ph);
  }

  auto to_offset = [&phdrs](std::uint64_t vaddr) -> std::optional<std::uint64_t> {
    for (const auto& ph : phdrs) {
      if (ph.type == kPtLoad && vaddr >= ph.vaddr && vaddr - ph.vaddr < ph.filesz) {
        return ph.offset + (vaddr - ph.vaddr);
      }
    }
    return std::nullopt;
  };

  for (const auto& ph : phdrs) {
    if (ph.type == kPtInterp && !info.interpreter) {
      // The kernel reads the first PT_INTERP only, up to its NUL.
      auto bytes = file.read(ph.offset, ph.filesz);
      if (!bytes) return make_error(shown, "PT_INTERP lies outside the file");
      if (auto nul = bytes->find('\0'); nul != std::string::npos) bytes->resize(nul);
      info.interpreter = *bytes;
      if (ph.filesz > 0) info.interpreter_slot = ElfStringSlot{ph.offset, ph.filesz - 1};
    } else if (ph.type == kPtNote) {
      auto bytes = file.read(ph.offset, ph.filesz);
      if (!bytes) continue;  // glibc ignores notes it cannot read; so do we
      const Reader n(*bytes, le);
      const std::uint64_t align = ph.align == 8 ? 8 : 4;
      std::uint64_t pos = 0;
      while (pos + 12 <= bytes->size()) {
        const std::uint64_t namesz = n.u(static_cast<std::size_t>(pos), 4);
        const std::uint64_t descsz = n.u(static_cast<std::size_t>(pos) + 4, 4);
        const std::uint64_t type = n.u(static_cast<std::size_t>(pos) + 8, 4);
        const std::uint64_t name_at = pos + 12;
        const std::uint64_t desc_at = align_up(name_at + namesz, align);
        if (desc_at > bytes->size() || descsz > bytes->size() - desc_at) break;
        std::string_view name(bytes->data() + name_at, static_cast<std::size_t>(namesz));
        if (!name.empty() && name.back() == '\0') name.remove_suffix(1);
        if (name == kNoteOwnerFdo && type == kNoteTypeFdoDlopen) {
          auto parsed = parse_dlopen_note(std::string_view(bytes->data() + desc_at, descsz));
          if (parsed) {
            for (auto& d : *parsed) info.dlopen.push_back(std::move(d));
          } else {
            info.warnings.push_back(fmt::format(".note.dlopen: {}", parsed.error().message));
          }
        }
        pos = align_up(desc_at + descsz, align);
      }
    }
  }

  const Phdr* dyn = nullptr;
  for (const auto& ph : phdrs) {
    if (ph.type == kPtDynamic) {
      dyn = &ph;
      break;
    }
  }
  if (dyn == nullptr) return info;
  info.dynamic = true;
  auto dbytes = file.read(dyn->offset, dyn->filesz);
  if (!dbytes) return make_error(shown, "dynamic section lies outside the file");
  const std::size_t dent = is64 ? 16 : 8;
  const Reader d(*dbytes, le);
  std::uint64_t strtab = 0, strsz = 0;
  bool have_strtab = false;
  std::vector<std::pair<std::int64_t, std::uint64_t>> entries;
  for (std::size_t o = 0; o + dent <= dbytes->size(); o += dent) {
    const std::uint64_t raw = d.u(o, dent / 2);
    // Sign-extend 32-bit tags so the OS-specific range compares alike.
    const std::int64_t tag = is64 ? static_cast<std::int64_t>(raw)
                                  : static_cast<std::int64_t>(static_cast<std::int32_t>(raw));
    const std::uint64_t val = d.u(o + dent / 2, dent / 2);
    if (tag == kDtNull) break;
    if (tag == kDtStrtab) {
      strtab = val;
      have_strtab = true;
    } else if (tag == kDtStrsz) {
      strsz = val;
    }
    entries.emplace_back(tag, val);
  }
  StringTable strings(file);
  if (have_strtab) {
    auto off = to_offset(strtab);
    if (!off) return make_error(shown, "DT_STRTAB is not in a loaded segment");
    // DT_STRSZ may be missing or wrong in odd files: never read past the file.
    const std::uint64_t len =
        strsz > 0 ? std::min(strsz, file.size() - std::min(*off, file.size())) : 0;
    if (!strings.place(*off, len)) return make_error(shown, "string table lies outside the file");
    info.dynstr_offset = *off;
    info.symbol_tables.strsz = len;
  }
  auto str = [&](std::uint64_t off, const char* what) -> Result<std::string> {
    auto s = strings.at(off);
    if (!s) return make_error(shown, fmt::format("{} string lies outside the string table", what));
    return *s;
  };
  for (const auto& [tag, val] : entries) {
    // glibc keeps the last entry of a tag that should appear once.
    switch (tag) {
      case kDtNeeded: {
        info.dynstr_refs.push_back(val);
        ELFPRUNE_TRY_ASSIGN(std::string needed, str(val, "DT_NEEDED"));
        info.needed.push_back(std::move(needed));
        break;
      }
      case kDtSoname:
      case kDtRpath:
      case kDtRunpath: {
        auto s = str(val, tag == kDtSoname  ? "DT_SONAME"
                          : tag == kDtRpath ? "DT_RPATH"
                                            : "DT_RUNPATH");
        ELFPRUNE_TRY(s);
        info.dynstr_refs.push_back(val);
        if (tag != kDtSoname) {
          (tag == kDtRpath ? info.rpath_slot : info.runpath_slot) =
              ElfStringSlot{info.dynstr_offset + val, s->size()};
        }
        (tag == kDtSoname  ? info.soname
         : tag == kDtRpath ? info.rpath
                           : info.runpath) = std::move(*s);
        break;
      }
      case kDtFlags:
        info.flags = val;
        break;
      case kDtSymtab:
        info.symbol_tables.symtab = to_offset(val);
        break;
      case kDtSyment:
        info.symbol_tables.syment = val;
        break;
      case kDtHash:
        info.symbol_tables.hash = to_offset(val);
        break;
      case kDtGnuHash:
        info.symbol_tables.gnu_hash = to_offset(val);
        break;
      case kDtVersym:
        info.symbol_tables.versym = to_offset(val);
        break;
      case kDtFlags1:
        info.flags_1 = val;
        break;
      case kDtAuxiliary:
      case kDtFilter:
        info.dynstr_refs.push_back(val);
        break;
      default:
        break;
    }
  }
  read_versions(file, le, entries, to_offset, strings, info);
  read_relocation_tables(entries, to_offset, info);
  return info;
}

namespace {

struct Section {
  std::uint32_t type = 0;
  std::uint64_t flags = 0, offset = 0, size = 0;
};

struct SectionTable {
  bool is64 = false;
  bool little = true;
  bool present = false;  // a header table that lies inside the file
  std::vector<Section> sections;
};

// The section header table, bounds-checked; not present when the file has
// none (stripped of it, or malformed). `head`: the file's first bytes;
// `fetch(off, len)`: those bytes of the file, nullopt when outside it.
template <typename Fetch>
SectionTable read_sections(std::string_view head, std::uint64_t size, Fetch&& fetch) {
  SectionTable t;
  auto header = parse_elf_header(head.substr(0, std::min<std::size_t>(64, head.size())));
  if (!header) return t;
  t.is64 = header->elf_class == elfconst::kClass64;
  t.little = header->data == elfconst::kDataLsb;
  const bool is64 = t.is64;
  const Reader h(head, t.little);
  const std::uint64_t shoff = h.u(is64 ? 40 : 32, is64 ? 8 : 4);
  const std::uint64_t shentsize = h.u(is64 ? 58 : 46, 2);
  const std::uint64_t shnum = h.u(is64 ? 60 : 48, 2);
  const std::uint64_t want = is64 ? 64 : 40;
  if (shnum == 0 || shentsize != want || shoff > size || shnum > (size - shoff) / want) {
    return t;
  }
  const std::optional<std::string> table = fetch(shoff, shnum * want);
  if (!table) return t;
  t.present = true;
  const Reader r(*table, t.little);
  t.sections.reserve(static_cast<std::size_t>(shnum));
  for (std::uint64_t i = 0; i < shnum; ++i) {
    const std::size_t o = static_cast<std::size_t>(i * want);
    Section s;
    s.type = static_cast<std::uint32_t>(r.u(o + 4, 4));
    s.flags = r.u(o + 8, is64 ? 8 : 4);
    s.offset = r.u(o + (is64 ? 24 : 16), is64 ? 8 : 4);
    s.size = r.u(o + (is64 ? 32 : 20), is64 ? 8 : 4);
    t.sections.push_back(s);
  }
  return t;
}

SectionTable read_sections(std::string_view bytes) {
  return read_sections(bytes, bytes.size(),
                       [bytes](std::uint64_t off, std::uint64_t len) -> std::optional<std::string> {
                         return std::string(bytes.substr(static_cast<std::size_t>(off),
                                                         static_cast<std::size_t>(len)));
                       });
}

// Section types that are binary tables, never text a program reads.
bool is_table_section(std::uint32_t type) {
  switch (type) {
    case 2:           // SHT_SYMTAB
    case 4:           // SHT_RELA
    case 5:           // SHT_HASH
    case 6:           // SHT_DYNAMIC
    case 8:           // SHT_NOBITS
    case 9:           // SHT_REL
    case kShtDynsym:  // SHT_DYNSYM
    case 14:          // SHT_INIT_ARRAY
    case 15:          // SHT_FINI_ARRAY
    case 16:          // SHT_PREINIT_ARRAY
    case 17:          // SHT_GROUP
    case 18:          // SHT_SYMTAB_SHNDX
    case 19:          // SHT_RELR
    case 0x6ffffff6:  // SHT_GNU_HASH
    case 0x6ffffffd:  // SHT_GNU_verdef
    case 0x6ffffffe:  // SHT_GNU_verneed
    case 0x6fffffff:  // SHT_GNU_versym
      return true;
    default:
      return false;
  }
}

}  // namespace

std::vector<std::uint64_t> dynsym_name_offsets(std::string_view bytes) {
  std::vector<std::uint64_t> names;
  const SectionTable t = read_sections(bytes);
  const Reader r(bytes, t.little);
  const std::uint64_t ent = t.is64 ? 24 : 16;
  for (const auto& s : t.sections) {
    if (s.type != kShtDynsym) continue;
    if (s.offset > bytes.size() || s.size > bytes.size() - s.offset) continue;
    for (std::uint64_t o = 0; o + ent <= s.size; o += ent) {
      names.push_back(r.u(static_cast<std::size_t>(s.offset + o), 4));
    }
  }
  return names;
}

namespace {

// Sections holding data a program reads, merged where they touch.
std::vector<FileRange> string_ranges(const SectionTable& t, std::uint64_t size) {
  constexpr std::uint64_t kShfAlloc = 0x2;
  constexpr std::uint64_t kShfExecinstr = 0x4;
  // Without a section table nothing tells code from data: all of it.
  if (!t.present) return {FileRange{0, size}};
  std::vector<FileRange> ranges;
  for (const auto& s : t.sections) {
    if ((s.flags & kShfAlloc) == 0 || (s.flags & kShfExecinstr) != 0) continue;
    if (is_table_section(s.type) || s.size == 0) continue;
    if (s.offset > size || s.size > size - s.offset) continue;
    ranges.push_back({s.offset, s.offset + s.size});
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const FileRange& a, const FileRange& b) { return a.begin < b.begin; });
  std::vector<FileRange> merged;
  for (const FileRange& r : ranges) {
    if (!merged.empty() && r.begin <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, r.end);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

}  // namespace

std::vector<std::string_view> elf_string_regions(std::string_view bytes) {
  std::vector<std::string_view> regions;
  for (const FileRange& r : string_ranges(read_sections(bytes), bytes.size())) {
    regions.push_back(
        bytes.substr(static_cast<std::size_t>(r.begin), static_cast<std::size_t>(r.end - r.begin)));
  }
  return regions;
}

std::vector<FileRange> elf_string_ranges(int fd, std::uint64_t size) {
  auto fetch = [fd, size](std::uint64_t off, std::uint64_t len) {
    return pread_exact(fd, size, off, len);
  };
  const std::string head = fetch(0, std::min<std::uint64_t>(64, size)).value_or("");
  return string_ranges(read_sections(head, size, fetch), size);
}

}  // namespace elfprune
