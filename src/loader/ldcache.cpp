// Layouts and lookup rules follow glibc 2.36: sysdeps/generic/dl-cache.h,
// elf/dl-cache.c (search_cache) and elf/cache.c (save_cache, compare).
#include "loader/ldcache.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace elfprune {
namespace {

constexpr std::string_view kOldMagic = "ld.so-1.7.0";
constexpr std::string_view kNewMagic = "glibc-ld.so.cache1.1";
constexpr std::size_t kOldHeaderSize = 16;  // magic[11], pad, u32 nlibs
constexpr std::size_t kOldEntrySize = 12;
constexpr std::size_t kNewHeaderSize = 48;
constexpr std::size_t kNewEntrySize = 24;
constexpr std::uint32_t kExtensionMagic = 0xEAA42174;
constexpr std::uint32_t kExtensionTagHwcaps = 1;
constexpr std::size_t kExtensionSectionSize = 16;
constexpr std::uint64_t kIsaLevelMask = (1u << 10) - 1;

// Errors name no path: the caller knows which file it read.
Error cache_error(std::string message) {
  return make_error("", std::move(message));
}

// Every read goes through here: offsets come from the file and are checked
// against its size without overflowing.
class Reader {
 public:
  Reader(std::string_view bytes, bool big_endian) : bytes_(bytes), big_(big_endian) {}

  bool fits(std::uint64_t offset, std::uint64_t length) const {
    return offset <= bytes_.size() && length <= bytes_.size() - offset;
  }

  std::optional<std::uint64_t> uint(std::uint64_t offset, std::size_t width) const {
    if (!fits(offset, width)) return std::nullopt;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) {
      const auto byte = static_cast<unsigned char>(bytes_[offset + (big_ ? i : width - 1 - i)]);
      v = (v << 8) | byte;
    }
    return v;
  }
  std::optional<std::uint32_t> u32(std::uint64_t offset) const {
    auto v = uint(offset, 4);
    if (!v) return std::nullopt;
    return static_cast<std::uint32_t>(*v);
  }
  std::optional<std::uint64_t> u64(std::uint64_t offset) const { return uint(offset, 8); }

  // A NUL-terminated string wholly inside the image.
  std::optional<std::string_view> cstr(std::uint64_t offset) const {
    if (offset >= bytes_.size()) return std::nullopt;
    const std::size_t end = bytes_.find('\0', offset);
    if (end == std::string_view::npos) return std::nullopt;
    return bytes_.substr(offset, end - offset);
  }

 private:
  std::string_view bytes_;
  bool big_;
};

// dl_cache_hwcap_extension: bit 62 and nothing else in the upper half
// except the x86 ISA level bits.
bool is_hwcap_extension(std::uint64_t hwcap) {
  return ((hwcap >> 32) & ~kIsaLevelMask) == (kCacheHwcapExtension >> 32);
}

// The x86 ISA levels the CPU has, as GNU_PROPERTY_X86_ISA_1_* bits, inferred
// from the glibc-hwcaps names the caller says the CPU supports.
std::uint64_t isa_levels_from_priority(const std::vector<std::string>& priority) {
  std::uint64_t mask = 1;  // baseline
  for (const auto& name : priority) {
    if (name == "x86-64-v2") mask |= 1u << 1;
    if (name == "x86-64-v3") mask |= 1u << 2;
    if (name == "x86-64-v4") mask |= 1u << 3;
  }
  return mask;
}

// The glibc-hwcaps subdirectory names of the extension section, by index.
// Structural damage (a directory or section beyond the end) is an error;
// an unusable hwcaps section is dropped as glibc's cache_extension_verify
// does, which leaves every glibc-hwcaps entry unusable.
Result<std::vector<std::string>> read_hwcaps_names(const Reader& r, std::uint32_t ext_offset) {
  std::vector<std::string> names;
  if (ext_offset == 0) return names;
  if (ext_offset % 4 != 0) return cache_error("misaligned extension directory");
  auto magic = r.u32(ext_offset);
  auto count = r.u32(std::uint64_t{ext_offset} + 4);
  if (!magic || !count) return cache_error("extension directory beyond the end of the cache");
  if (*magic != kExtensionMagic) return cache_error("bad extension directory magic");
  const std::uint64_t first = std::uint64_t{ext_offset} + 8;
  if (!r.fits(first, std::uint64_t{*count} * kExtensionSectionSize)) {
    return cache_error("extension directory beyond the end of the cache");
  }
  std::optional<std::pair<std::uint32_t, std::uint32_t>> hwcaps;  // offset, size
  for (std::uint32_t i = 0; i < *count; ++i) {
    const std::uint64_t at = first + std::uint64_t{i} * kExtensionSectionSize;
    const auto tag = *r.u32(at);
    const auto offset = *r.u32(at + 8);
    const auto size = *r.u32(at + 12);
    if (!r.fits(offset, size)) {
      return cache_error(fmt::format("extension section {} beyond the end of the cache", i));
    }
    if (tag == kExtensionTagHwcaps) hwcaps = {offset, size};  // the last one wins, as in glibc
  }
  if (!hwcaps || hwcaps->second == 0 || hwcaps->first % 4 != 0 || hwcaps->second % 4 != 0) {
    return names;
  }
  for (std::uint32_t i = 0; i < hwcaps->second / 4; ++i) {
    const auto string_offset = *r.u32(std::uint64_t{hwcaps->first} + 4 * i);
    // Relative to the start of the file, not of the new-format header: that
    // is how ld.so and ldconfig -p read it. ldconfig writes it relative to
    // the new header, so in "compat" caches the name is wrong and ld.so
    // never uses glibc-hwcaps entries; reading it the same way keeps
    // lookup() in agreement with ld.so.
    auto name = r.cstr(string_offset);
    names.emplace_back(name ? *name : std::string_view{});
  }
  return names;
}

// The new format at `base`: 0, or where the old format embeds it.
Result<std::vector<CacheEntry>> parse_new(std::string_view bytes, std::size_t base) {
  // Callers have checked that the whole header lies inside `bytes`.
  // The flags byte is read before the byte order is known; it is one byte.
  const auto flags = static_cast<unsigned char>(bytes[base + 28]);
  bool big = false;
  if (flags != 0) {
    // Like cache_file_new_matches_endian: any nonzero flags need the endian bits.
    switch (flags & 3) {
      case 2:
        big = false;
        break;
      case 3:
        big = true;
        break;
      default:
        return cache_error("cache is marked as having an invalid byte order");
    }
  }
  // flags == 0: written by an ldconfig older than 2.33, which recorded no
  // byte order; ld.so assumes its own, and little-endian is the common case.
  const Reader r(bytes, big);
  const std::uint32_t nlibs = *r.u32(base + 20);
  const std::uint32_t ext_offset = *r.u32(base + 32);
  const std::uint64_t entries_at = std::uint64_t{base} + kNewHeaderSize;
  if (!r.fits(entries_at, std::uint64_t{nlibs} * kNewEntrySize)) {
    return cache_error(fmt::format("{} entries do not fit in the cache", nlibs));
  }
  auto hwcaps_names = read_hwcaps_names(r, ext_offset);
  ELFPRUNE_TRY(hwcaps_names);

  std::vector<CacheEntry> entries;
  entries.reserve(nlibs);
  for (std::uint32_t i = 0; i < nlibs; ++i) {
    const std::uint64_t at = entries_at + std::uint64_t{i} * kNewEntrySize;
    CacheEntry e;
    e.flags = static_cast<std::int32_t>(*r.u32(at));
    // String offsets count from the start of the new-format header.
    auto key = r.cstr(base + std::uint64_t{*r.u32(at + 4)});
    auto value = r.cstr(base + std::uint64_t{*r.u32(at + 8)});
    if (!key || !value) return cache_error(fmt::format("entry {}: string outside the cache", i));
    e.key = *key;
    e.value = *value;
    e.hwcap = *r.u64(at + 16);
    if (is_hwcap_extension(e.hwcap)) {
      const auto index = static_cast<std::uint32_t>(e.hwcap);
      if (index < hwcaps_names->size()) e.hwcaps_subdir = (*hwcaps_names)[index];
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

Result<std::vector<CacheEntry>> parse_old(const Reader& r, std::uint32_t nlibs) {
  // Strings count from the end of the entry table.
  const std::uint64_t strings_at = kOldHeaderSize + std::uint64_t{nlibs} * kOldEntrySize;
  std::vector<CacheEntry> entries;
  entries.reserve(nlibs);
  for (std::uint32_t i = 0; i < nlibs; ++i) {
    const std::uint64_t at = kOldHeaderSize + std::uint64_t{i} * kOldEntrySize;
    CacheEntry e;
    e.flags = static_cast<std::int32_t>(*r.u32(at));
    auto key = r.cstr(strings_at + *r.u32(at + 4));
    auto value = r.cstr(strings_at + *r.u32(at + 8));
    if (!key || !value) return cache_error(fmt::format("entry {}: string outside the cache", i));
    e.key = *key;
    e.value = *value;
    entries.push_back(std::move(e));
  }
  return entries;
}

// Where dl-cache.c looks for the new format after an old-format table.
// ldconfig pads the old table to an even count so that 8- and 4-byte
// alignment agree; a file written otherwise may use either.
std::optional<std::size_t> embedded_new_format(std::string_view bytes, std::uint64_t old_end) {
  for (std::uint64_t align : {8u, 4u}) {
    const std::uint64_t at = (old_end + align - 1) / align * align;
    if (at <= bytes.size() && bytes.size() - at >= kNewHeaderSize &&
        bytes.substr(at, kNewMagic.size()) == kNewMagic) {
      return static_cast<std::size_t>(at);
    }
  }
  return std::nullopt;
}

}  // namespace

Result<LdCache> LdCache::parse(std::string_view bytes) {
  Result<std::vector<CacheEntry>> entries = cache_error("not an ld.so.cache file");
  if (bytes.size() >= kNewHeaderSize && bytes.substr(0, kNewMagic.size()) == kNewMagic) {
    entries = parse_new(bytes, 0);
  } else if (bytes.size() >= kOldHeaderSize && bytes.substr(0, kOldMagic.size()) == kOldMagic) {
    // The old format records no byte order: take the one in which the
    // entry count fits the file, little-endian first.
    std::optional<Reader> r;
    std::uint32_t nlibs = 0;
    for (bool big : {false, true}) {
      const Reader candidate(bytes, big);
      nlibs = *candidate.u32(12);
      if (candidate.fits(kOldHeaderSize, std::uint64_t{nlibs} * kOldEntrySize)) {
        r = candidate;
        break;
      }
    }
    if (!r) return cache_error("old-format entries do not fit in the cache");
    // As glibc does, the new format embedded after the old table, if any,
    // is used instead of the old one.
    const std::uint64_t old_end = kOldHeaderSize + std::uint64_t{nlibs} * kOldEntrySize;
    if (auto at = embedded_new_format(bytes, old_end)) {
      entries = parse_new(bytes, *at);
    } else {
      entries = parse_old(*r, nlibs);
    }
  } else if (bytes.size() < kNewHeaderSize) {
    return cache_error("cache file too short");
  }
  ELFPRUNE_TRY(entries);
  LdCache cache;
  // Keep the file's order: lookup() must see what ld.so's binary search sees.
  cache.entries_ = std::move(*entries);
  return cache;
}

LdCache LdCache::from_entries(std::vector<CacheEntry> entries) {
  // Index the glibc-hwcaps names in sorted order, as ldconfig does.
  std::vector<std::string> names;
  for (const auto& e : entries) {
    if (!e.hwcaps_subdir.empty()) names.push_back(e.hwcaps_subdir);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (auto& e : entries) {
    if (e.hwcaps_subdir.empty()) continue;
    const auto index =
        std::lower_bound(names.begin(), names.end(), e.hwcaps_subdir) - names.begin();
    e.hwcap = (e.hwcap & (kIsaLevelMask << 32)) | kCacheHwcapExtension |
              static_cast<std::uint64_t>(index);
  }
  // ldconfig's order (cache.c compare): sonames descending, then flags
  // descending, glibc-hwcaps entries first and by name; ties keep the order
  // they were added in, so an earlier directory stays first.
  std::stable_sort(entries.begin(), entries.end(), [](const CacheEntry& a, const CacheEntry& b) {
    if (int c = cache_libcmp(b.key, a.key); c != 0) return c < 0;
    if (a.flags != b.flags) return a.flags > b.flags;
    const bool ha = is_hwcap_extension(a.hwcap);
    const bool hb = is_hwcap_extension(b.hwcap);
    if (ha != hb) return ha;
    return ha && a.hwcaps_subdir < b.hwcaps_subdir;
  });
  LdCache cache;
  cache.entries_ = std::move(entries);
  return cache;
}

std::optional<std::string> LdCache::lookup(std::string_view soname, std::int32_t abi_flags,
                                           const std::vector<std::string>& hwcaps_priority) const {
  // glibc's generic _dl_cache_check_flags also takes plain ELF (1) where the
  // ABI is libc6 alone (i386); the 64-bit ABIs take only their own flags.
  auto flags_ok = [abi_flags](std::int32_t f) {
    return f == abi_flags || (abi_flags == cacheflags::kElfLibc6 && f == 1);
  };
  auto priority = [&hwcaps_priority](const std::string& name) -> std::size_t {
    auto it = std::find(hwcaps_priority.begin(), hwcaps_priority.end(), name);
    return name.empty() || it == hwcaps_priority.end() ? 0 : it - hwcaps_priority.begin() + 1;
  };
  const std::uint64_t isa_levels = isa_levels_from_priority(hwcaps_priority);

  // search_cache: binary search, back up to the first equal key, then scan.
  std::ptrdiff_t left = 0;
  std::ptrdiff_t right = static_cast<std::ptrdiff_t>(entries_.size()) - 1;
  while (left <= right) {
    std::ptrdiff_t middle = left + (right - left) / 2;
    const int cmp = cache_libcmp(soname, entries_[middle].key);
    if (cmp != 0) {
      if (cmp < 0) {
        left = middle + 1;
      } else {
        right = middle - 1;
      }
      continue;
    }
    left = middle;
    while (middle > 0 && cache_libcmp(soname, entries_[middle - 1].key) == 0) --middle;
    const std::string* best = nullptr;
    std::size_t best_priority = 0;
    for (; middle <= right; ++middle) {
      const CacheEntry& e = entries_[middle];
      if (middle > left && cache_libcmp(soname, e.key) != 0) break;
      if (!flags_ok(e.flags)) continue;
      const bool named = is_hwcap_extension(e.hwcap);
      if (named) {
        const std::uint64_t needed = (e.hwcap >> 32) & kIsaLevelMask;
        if ((isa_levels & needed) != needed) continue;
      }
      // glibc-hwcaps entries come first; once past them the first plain
      // match cannot beat what was found.
      if (!named && best != nullptr) break;
      if (!named && e.hwcap != 0) continue;  // legacy hwcaps (tls/, x86_64/...)
      if (named) {
        const std::size_t p = priority(e.hwcaps_subdir);
        if (p == 0 || (best != nullptr && p >= best_priority)) continue;
        best_priority = p;
      }
      best = &e.value;
      if (!named && e.flags == abi_flags) break;
    }
    if (best == nullptr) return std::nullopt;
    return *best;
  }
  return std::nullopt;
}

int cache_libcmp(std::string_view a, std::string_view b) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  // ld.so compares plain chars, which are signed on x86; end of string is NUL.
  auto at = [](std::string_view s, std::size_t i) -> int {
    return i < s.size() ? static_cast<signed char>(s[i]) : 0;
  };
  std::size_t i = 0;
  std::size_t j = 0;
  while (at(a, i) != 0) {
    const char ca = static_cast<char>(at(a, i));
    const char cb = static_cast<char>(at(b, j));
    if (is_digit(ca)) {
      if (!is_digit(cb)) return 1;
      // Numeric comparison of the two runs without overflow: drop leading
      // zeros, then the longer run is larger, else compare digit by digit.
      std::size_t ea = i;
      std::size_t eb = j;
      while (ea < a.size() && is_digit(a[ea])) ++ea;
      while (eb < b.size() && is_digit(b[eb])) ++eb;
      while (i + 1 < ea && a[i] == '0') ++i;
      while (j + 1 < eb && b[j] == '0') ++j;
      if (ea - i != eb - j) return ea - i < eb - j ? -1 : 1;
      if (int c = a.substr(i, ea - i).compare(b.substr(j, eb - j)); c != 0) return c < 0 ? -1 : 1;
      i = ea;
      j = eb;
    } else if (is_digit(cb)) {
      return -1;
    } else if (ca != cb) {
      return at(a, i) - at(b, j);
    } else {
      ++i;
      ++j;
    }
  }
  return -at(b, j);
}

}  // namespace elfprune
