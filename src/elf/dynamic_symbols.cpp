// The loader's symbol tables, read with bounds checks (see the header). The
// rules follow glibc 2.36's elf/dl-lookup.c (do_lookup_x, check_match) and
// elf/dl-version.c (_dl_check_map_versions); docs/loader-resolution.md,
// "Binding", says the same in prose.
#include "elf/dynamic_symbols.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "elf/elf_header.hpp"
#include "util/fd.hpp"

namespace elfprune {
namespace {

using elf_detail::read_uint;

// check_match's ALLOWED_STT: NOTYPE, OBJECT, FUNC, COMMON, TLS, GNU_IFUNC.
constexpr std::uint32_t kAllowedTypes =
    (1u << 0) | (1u << 1) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 10);

// The copy relocation's type on each machine (R_*_COPY), 0 when unknown.
std::uint32_t copy_relocation(std::uint16_t machine) {
  switch (machine) {
    case 3:   // i386
    case 62:  // x86-64
      return 5;
    case 183:  // AArch64
      return 1024;
    case 40:  // ARM
      return 20;
    case 243:  // RISC-V
      return 4;
    case 20:  // PowerPC
    case 21:  // PowerPC64
      return 19;
    case 22:  // S/390
      return 9;
    default:
      return 0;
  }
}

std::vector<std::uint32_t> words32(std::string_view bytes, bool le) {
  std::vector<std::uint32_t> out(bytes.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint32_t>(read_uint(bytes, i * 4, 4, le));
  }
  return out;
}

}  // namespace

std::uint32_t gnu_hash_of(std::string_view name) {
  std::uint32_t h = 5381;
  for (unsigned char c : name) h = h * 33 + c;
  return h;
}

std::uint32_t elf_hash_of(std::string_view name) {
  std::uint32_t h = 0;
  for (unsigned char c : name) {
    h = (h << 4) + c;
    const std::uint32_t g = h & 0xf0000000u;
    h ^= g >> 24;
    h &= ~g;
  }
  return h;
}

DynamicSymbol DynamicSymbols::symbol(std::size_t index) const {
  DynamicSymbol s;
  const std::string_view t(symtab_);
  std::uint64_t name = 0;
  std::uint8_t info = 0;
  if (is64_) {
    const std::size_t o = index * 24;
    name = read_uint(t, o, 4, le_);
    info = static_cast<std::uint8_t>(t[o + 4]);
    s.visibility = static_cast<std::uint8_t>(t[o + 5]) & 3;
    s.shndx = static_cast<std::uint16_t>(read_uint(t, o + 6, 2, le_));
    s.value = read_uint(t, o + 8, 8, le_);
  } else {
    const std::size_t o = index * 16;
    name = read_uint(t, o, 4, le_);
    s.value = read_uint(t, o + 4, 4, le_);
    info = static_cast<std::uint8_t>(t[o + 12]);
    s.visibility = static_cast<std::uint8_t>(t[o + 13]) & 3;
    s.shndx = static_cast<std::uint16_t>(read_uint(t, o + 14, 2, le_));
  }
  s.bind = info >> 4;
  s.type = info & 0xf;
  // Checked when the table was read: the name lies inside the strings.
  s.name = std::string_view(strtab_.data() + name);
  if (!versym_.empty()) s.versym = versym_[index];
  return s;
}

const VersionSlot* DynamicSymbols::wanted_version(std::size_t index) const {
  if (versym_.empty()) return nullptr;
  const std::size_t ndx = versym_[index] & 0x7fff;
  if (ndx >= versions_.size() || versions_[ndx].hash == 0) return nullptr;
  return &versions_[ndx];
}

bool DynamicSymbols::matches(std::size_t index, std::string_view name, const VersionSlot* version,
                             std::size_t& versioned, int& versions) const {
  const DynamicSymbol s = symbol(index);
  // An undefined entry is never a definition here: a PLT reference (the
  // usual kind) skips it, and one with a value is only an executable's
  // canonical PLT address, which the executable's own reference cannot use.
  if (s.undefined() ||
      (s.value == 0 && s.shndx != symconst::kShnAbs && s.type != symconst::kTypeTls)) {
    return false;
  }
  if (((1u << s.type) & kAllowedTypes) == 0) return false;
  if (s.name != name) return false;
  if (versym_.empty()) return true;  // no version information: any reference binds
  const std::uint16_t raw = versym_[index];
  const VersionSlot& have = versions_[raw & 0x7fff];
  if (version != nullptr) {
    // The version asked for, or the base definition unless the reference
    // insists (hidden) or the definition is a hidden one.
    const bool same = have.hash == version->hash && have.name == version->name;
    return same || !(version->hidden || have.hash != 0 || (raw & symconst::kVersymHidden) != 0);
  }
  // An unversioned reference takes the base (index 1 or 2) definition; any
  // other is remembered, and taken when it is the only non-hidden one.
  if ((raw & 0x7fff) >= 3) {
    if ((raw & symconst::kVersymHidden) == 0 && versions++ == 0) versioned = index;
    return false;
  }
  return true;
}

SymbolLookup DynamicSymbols::find(std::string_view name, std::uint32_t gnu_hash,
                                  std::uint32_t elf_hash, const VersionSlot* version) const {
  SymbolLookup out;
  if (count_ == 0 || buckets_.empty()) return out;
  std::size_t versioned = 0;
  int versions = 0;
  std::optional<std::size_t> hit;
  if (gnu_) {
    const unsigned bits = is64_ ? 64 : 32;
    const std::uint64_t word = bloom_[(gnu_hash / bits) & (bloom_.size() - 1)];
    // glibc's hash is a uint_fast32_t: 64 bits wide on a 64-bit loader, so
    // a shift of 32 or more leaves 0 there; on a 32-bit one the machine
    // (x86) takes the shift modulo 32.
    const std::uint64_t wide = gnu_hash;
    const unsigned h1 = gnu_hash & (bits - 1);
    const unsigned h2 =
        is64_ ? static_cast<unsigned>((bloom_shift_ < 64 ? wide >> bloom_shift_ : 0) & (bits - 1))
              : (gnu_hash >> (bloom_shift_ & 31)) & (bits - 1);
    if (((word >> h1) & (word >> h2) & 1) != 0) {
      std::size_t i = buckets_[gnu_hash % buckets_.size()];
      if (i != 0) {
        // Chains were checked to end inside the table when it was read.
        for (;; ++i) {
          const std::uint32_t c = chains_[i - symoffset_];
          if (((c ^ gnu_hash) >> 1) == 0 && matches(i, name, version, versioned, versions)) {
            hit = i;
            break;
          }
          if ((c & 1) != 0) break;
        }
      }
    }
  } else {
    std::size_t steps = 0;
    for (std::size_t i = buckets_[elf_hash % buckets_.size()]; i != 0 && steps < count_;
         i = chains_[i], ++steps) {
      if (matches(i, name, version, versioned, versions)) {
        hit = i;
        break;
      }
    }
  }
  if (!hit && versions == 1) hit = versioned;
  if (!hit) return out;
  const DynamicSymbol s = symbol(*hit);
  if (s.visibility == symconst::kVisHidden || s.visibility == symconst::kVisInternal) return out;
  if (s.bind == symconst::kBindGlobal || s.bind == symconst::kBindWeak ||
      s.bind == symconst::kBindGnuUnique) {
    out.index = hit;
  }
  return out;
}

Result<DynamicSymbols> read_dynamic_symbols(const std::filesystem::path& host_path,
                                            std::string_view display, const ElfInfo& info) {
  const std::string shown(display);
  ELFPRUNE_TRY_ASSIGN(const PreadFile file, open_regular_file(host_path.c_str(), display));
  DynamicSymbols out;
  out.is64_ = info.header.elf_class == elfconst::kClass64;
  out.le_ = info.header.data == elfconst::kDataLsb;
  const bool le = out.le_;
  const SymbolTables& t = info.symbol_tables;
  const std::uint64_t syment = out.is64_ ? 24 : 16;
  if (t.syment != 0 && t.syment != syment) {
    return make_error(shown, fmt::format("DT_SYMENT is {}, not {}", t.syment, syment));
  }
  if (!t.symtab && (t.hash || t.gnu_hash)) {
    return make_error(shown, "a hash table without a symbol table (DT_SYMTAB)");
  }
  if (!t.symtab && t.relocations.empty()) return out;  // nothing to bind either way
  auto strings = file.read(info.dynstr_offset, t.strsz);
  if (!strings)
    return make_error(shown, "the dynamic string table (DT_STRTAB) lies outside the file");
  out.strtab_ = std::move(*strings);

  // The number of symbols: the hash table's, as the loader knows no other.
  if (t.gnu_hash) {
    auto head = file.read(*t.gnu_hash, 16);
    if (!head) return make_error(shown, "the GNU hash table (DT_GNU_HASH) lies outside the file");
    const std::uint64_t nbuckets = read_uint(*head, 0, 4, le);
    out.symoffset_ = static_cast<std::uint32_t>(read_uint(*head, 4, 4, le));
    const std::uint64_t nbloom = read_uint(*head, 8, 4, le);
    out.bloom_shift_ = static_cast<std::uint32_t>(read_uint(*head, 12, 4, le));
    const std::uint64_t word = out.is64_ ? 8 : 4;
    if (nbuckets == 0 || nbloom == 0) {
      return make_error(shown,
                        "the GNU hash table (DT_GNU_HASH) has no buckets or no Bloom filter");
    }
    // glibc's _dl_setup_hash asserts it: the loader refuses the object.
    if ((nbloom & (nbloom - 1)) != 0) {
      return make_error(shown, fmt::format("the GNU hash table (DT_GNU_HASH) has a Bloom filter "
                                           "of {} words, not a power of two",
                                           nbloom));
    }
    auto bloom = file.read(*t.gnu_hash + 16, nbloom * word);
    auto buckets = file.read(*t.gnu_hash + 16 + nbloom * word, nbuckets * 4);
    if (!bloom || !buckets) {
      return make_error(shown, "the GNU hash table (DT_GNU_HASH) lies outside the file");
    }
    out.bloom_.resize(nbloom);
    for (std::size_t i = 0; i < nbloom; ++i) out.bloom_[i] = read_uint(*bloom, i * word, word, le);
    out.buckets_ = words32(*buckets, le);
    const std::uint64_t chains_at = *t.gnu_hash + 16 + nbloom * word + nbuckets * 4;
    std::uint64_t last = 0;
    for (std::uint32_t b : out.buckets_) {
      if (b != 0 && b < out.symoffset_) {
        return make_error(shown, fmt::format("the GNU hash table (DT_GNU_HASH) has a bucket ({}) "
                                             "below its first symbol ({})",
                                             b, out.symoffset_));
      }
      last = std::max<std::uint64_t>(last, b);
    }
    std::uint64_t count = out.symoffset_;
    if (last != 0) {
      // The last chain ends the table: walk it to its end bit.
      const std::uint64_t limit = (file.size() - std::min(file.size(), *t.symtab)) / syment;
      for (std::uint64_t i = last;; ++i) {
        auto w = i < limit ? file.read(chains_at + (i - out.symoffset_) * 4, 4) : std::nullopt;
        if (!w) {
          return make_error(shown,
                            "a chain of the GNU hash table (DT_GNU_HASH) runs past the "
                            "symbol table or the file");
        }
        if ((read_uint(*w, 0, 4, le) & 1) != 0) {
          count = i + 1;
          break;
        }
      }
      auto chains = file.read(chains_at, (count - out.symoffset_) * 4);
      if (!chains)
        return make_error(shown, "the GNU hash table (DT_GNU_HASH) lies outside the file");
      out.chains_ = words32(*chains, le);
    }
    out.gnu_ = true;
    out.count_ = count;
  } else if (t.hash) {
    auto head = file.read(*t.hash, 8);
    if (!head) return make_error(shown, "the hash table (DT_HASH) lies outside the file");
    const std::uint64_t nbucket = read_uint(*head, 0, 4, le);
    const std::uint64_t nchain = read_uint(*head, 4, 4, le);
    auto rest = nbucket == 0 ? std::nullopt : file.read(*t.hash + 8, (nbucket + nchain) * 4);
    if (!rest)
      return make_error(shown, "the hash table (DT_HASH) lies outside the file or is empty");
    auto all = words32(*rest, le);
    out.buckets_.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(nbucket));
    out.chains_.assign(all.begin() + static_cast<std::ptrdiff_t>(nbucket), all.end());
    for (std::uint32_t v : all) {
      if (v >= nchain) {
        return make_error(shown,
                          fmt::format("the hash table (DT_HASH) names symbol {} of {}", v, nchain));
      }
    }
    out.count_ = nchain;
  } else {
    out.warnings.push_back("no hash table (DT_HASH, DT_GNU_HASH): nothing can bind to its symbols");
  }

  // The relocations' symbols: what the loader looks up. They may lie
  // beyond what the hash table reaches (undefined symbols come first, and
  // an object that exports nothing has a hash table of no symbols).
  const std::uint32_t copy_type = copy_relocation(info.header.machine);
  std::vector<std::pair<std::uint64_t, bool>> refs;  // (symbol, copy)
  for (const auto& table : t.relocations) {
    const std::uint64_t entsize = table.rela ? (out.is64_ ? 24 : 12) : (out.is64_ ? 16 : 8);
    auto bytes =
        table.offset ? file.read(*table.offset, table.size - table.size % entsize) : std::nullopt;
    if (!bytes) {
      return make_error(shown,
                        fmt::format("a relocation table ({}) lies outside the file", table.tag));
    }
    for (std::uint64_t o = 0; o + entsize <= bytes->size(); o += entsize) {
      const std::uint64_t r_info =
          read_uint(*bytes, o + (out.is64_ ? 8 : 4), out.is64_ ? 8 : 4, le);
      const std::uint64_t sym = out.is64_ ? r_info >> 32 : r_info >> 8;
      const std::uint32_t type =
          static_cast<std::uint32_t>(out.is64_ ? r_info & 0xffffffffu : r_info & 0xffu);
      if (sym != 0) refs.emplace_back(sym, copy_type != 0 && type == copy_type);
    }
  }
  std::sort(refs.begin(), refs.end());
  refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
  if (!refs.empty()) out.count_ = std::max<std::size_t>(out.count_, refs.back().first + 1);
  if (!t.symtab) {
    if (out.count_ > 0) {
      return make_error(shown,
                        "relocations name symbols, but there is no symbol table (DT_SYMTAB)");
    }
    return out;
  }

  auto symtab = file.read(*t.symtab, out.count_ * syment);
  if (!symtab) {
    return make_error(shown, fmt::format("the symbol table (DT_SYMTAB) of {} symbols lies outside "
                                         "the file",
                                         out.count_));
  }
  out.symtab_ = std::move(*symtab);
  for (std::size_t i = 0; i < out.count_; ++i) {
    const std::uint64_t name = read_uint(out.symtab_, i * syment, 4, le);
    if (name >= out.strtab_.size() ||
        std::memchr(out.strtab_.data() + name, '\0', out.strtab_.size() - name) == nullptr) {
      return make_error(shown, fmt::format("the name of symbol {} lies outside the dynamic string "
                                           "table (DT_STRTAB)",
                                           i));
    }
  }

  // l_versions: needs first, then definitions (which win a shared index).
  std::size_t high = 1;
  for (const auto& vn : info.version_needs) {
    for (const auto& v : vn.versions) high = std::max<std::size_t>(high, v.index & 0x7fff);
  }
  for (const auto& d : info.version_defs) high = std::max<std::size_t>(high, d.index & 0x7fff);
  out.versions_.resize(high + 1);
  for (const auto& vn : info.version_needs) {
    for (const auto& v : vn.versions) {
      out.versions_[v.index & 0x7fff] =
          VersionSlot{v.name, v.hash, vn.file, (v.index & symconst::kVersymHidden) != 0};
    }
  }
  for (const auto& d : info.version_defs) {
    if (!d.base) out.versions_[d.index & 0x7fff] = VersionSlot{d.name, d.hash, "", false};
  }
  if (t.versym) {
    auto versym = file.read(*t.versym, out.count_ * 2);
    if (!versym) {
      return make_error(shown, fmt::format("the version table (.gnu.version, DT_VERSYM) is shorter "
                                           "than the {} symbols of the symbol table",
                                           out.count_));
    }
    out.versym_.resize(out.count_);
    for (std::size_t i = 0; i < out.count_; ++i) {
      out.versym_[i] = static_cast<std::uint16_t>(read_uint(*versym, i * 2, 2, le));
      if ((out.versym_[i] & 0x7fff) >= out.versions_.size()) {
        return make_error(shown, fmt::format("symbol {} has version index {}, out of range of the "
                                             "version table (.gnu.version)",
                                             i, out.versym_[i] & 0x7fff));
      }
    }
  }
  for (const auto& [index, copy] : refs) {
    const DynamicSymbol sym = out.symbol(index);
    if (copy) {
      out.references_.push_back({index, true});
      continue;
    }
    if (!sym.undefined() || sym.bind == symconst::kBindLocal || sym.bind == symconst::kBindWeak)
      continue;
    if (sym.visibility == symconst::kVisHidden || sym.visibility == symconst::kVisInternal)
      continue;
    if (!out.references_.empty() && out.references_.back().index == index) continue;
    out.references_.push_back({index, false});
  }
  return out;
}

std::vector<SymbolRow> symbol_rows(const DynamicSymbols& symbols) {
  std::vector<SymbolRow> out;
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    const DynamicSymbol s = symbols.symbol(i);
    out.push_back({std::string(s.name), s.bind, s.type, s.undefined(), s.versym});
  }
  return out;
}

}  // namespace elfprune
