// Parser and lookup for glibc's /etc/ld.so.cache (docs/loader-resolution.md §4).
// All reads are bounds-checked: the cache comes from the tree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace elfprune {

// Flags values of cache entries for each ABI (glibc sysdeps/generic/ldconfig.h).
namespace cacheflags {
inline constexpr std::int32_t kElfLibc6 = 0x0003;
inline constexpr std::int32_t kX8664Lib64 = 0x0300;
inline constexpr std::int32_t kAarch64Lib64 = 0x0a00;
inline constexpr std::int32_t kX32 = 0x0800;
}  // namespace cacheflags

inline constexpr std::uint64_t kCacheHwcapExtension = 1ull << 62;

struct CacheEntry {
  std::int32_t flags = 0;
  std::string key;    // the soname
  std::string value;  // absolute path as the loader will open it
  std::uint64_t hwcap = 0;
  // For glibc-hwcaps entries (bit 62 of hwcap): the subdirectory name
  // ("x86-64-v3"), taken from the extension section. Empty otherwise.
  std::string hwcaps_subdir;
};

// glibc's _dl_cache_libcmp: runs of digits compare as numbers ("libfoo.so.10"
// sorts after "libfoo.so.9"), everything else byte by byte. Negative, zero
// or positive like strcmp. The cache is sorted with it, and ldconfig uses
// it to pick the newest of several files with the same soname.
int cache_libcmp(std::string_view a, std::string_view b);

class LdCache {
 public:
  // Parse a cache image: new format, or old format with the new one appended
  // (only the new part is used then, as glibc does).
  static Result<LdCache> parse(std::string_view bytes);

  const std::vector<CacheEntry>& entries() const { return entries_; }

  // glibc's search_cache: the entry for `soname` whose flags equal
  // `abi_flags` (when that is plain kElfLibc6, as on i386, flags 1 too, as
  // glibc's generic _dl_cache_check_flags); among glibc-hwcaps entries the
  // one whose subdirectory comes first in `hwcaps_priority` wins over plain
  // ones. Legacy hwcap entries (nonzero hwcap without bit 62) are not chosen.
  std::optional<std::string> lookup(std::string_view soname, std::int32_t abi_flags,
                                    const std::vector<std::string>& hwcaps_priority) const;

  // Build a cache from entries (used to emulate ldconfig when a root has none).
  static LdCache from_entries(std::vector<CacheEntry> entries);

 private:
  std::vector<CacheEntry> entries_;
};

}  // namespace elfprune
