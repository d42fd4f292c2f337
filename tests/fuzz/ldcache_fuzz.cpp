// /etc/ld.so.cache comes from the tree: parse it, look every entry up, and
// rebuild it the way the ldconfig emulation does.
#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_targets.hpp"
#include "loader/ldcache.hpp"

namespace elfprune::fuzz {
namespace {

// Lookups are a binary search per entry; a few hundred keep a run fast.
constexpr std::size_t kMaxLookups = 256;

int sign(int v) {
  return (v > 0) - (v < 0);
}

// What lookup() returns is the value of an entry whose key compares equal
// to the soname asked for.
void check_lookup(const LdCache& cache, const std::string& soname, std::int32_t flags) {
  static const std::vector<std::string> kPriority{"x86-64-v3", "x86-64-v2"};
  const auto found = cache.lookup(soname, flags, kPriority);
  if (!found) return;
  const auto& all = cache.entries();
  FUZZ_CHECK(std::any_of(all.begin(), all.end(), [&](const CacheEntry& e) {
    return e.value == *found && cache_libcmp(soname, e.key) == 0;
  }));
}

}  // namespace

void ldcache(std::string_view bytes) {
  auto cache = LdCache::parse(bytes);
  if (!cache) {
    FUZZ_CHECK(!cache.error().message.empty());
    return;
  }
  const auto& entries = cache->entries();
  const std::size_t n = std::min(entries.size(), kMaxLookups);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& key = entries[i].key;
    // The cache is sorted and searched with this comparison: it must be
    // a consistent order.
    FUZZ_CHECK(cache_libcmp(key, key) == 0);
    if (i > 0) {
      const std::string& prev = entries[i - 1].key;
      FUZZ_CHECK(sign(cache_libcmp(key, prev)) == -sign(cache_libcmp(prev, key)));
    }
    check_lookup(*cache, key, entries[i].flags);
    check_lookup(*cache, key, cacheflags::kElfLibc6);
  }

  // from_entries sorts as ldconfig does; in its result every plain entry
  // (no hwcaps of any kind) must be found by its own soname and flags.
  std::vector<CacheEntry> some(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(n));
  const LdCache rebuilt = LdCache::from_entries(std::move(some));
  const auto& sorted = rebuilt.entries();
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) FUZZ_CHECK(cache_libcmp(sorted[i - 1].key, sorted[i].key) >= 0);
    if (sorted[i].hwcap != 0 || !sorted[i].hwcaps_subdir.empty()) continue;
    FUZZ_CHECK(rebuilt.lookup(sorted[i].key, sorted[i].flags, {}).has_value());
  }
}

}  // namespace elfprune::fuzz
