#include "loader/ldcache.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace elfprune {
namespace {

using test::TempDir;

#if defined(__x86_64__)
constexpr std::int32_t kHostAbi = cacheflags::kElfLibc6 | cacheflags::kX8664Lib64;
#elif defined(__aarch64__)
constexpr std::int32_t kHostAbi = cacheflags::kElfLibc6 | cacheflags::kAarch64Lib64;
#else
constexpr std::int32_t kHostAbi = -1;
#endif
constexpr std::int32_t kForeignAbi = cacheflags::kElfLibc6 | cacheflags::kX32;
const fs::path kLdconfig = "/sbin/ldconfig";
const std::vector<std::string> kV2 = {"x86-64-v3", "x86-64-v2"};

// The real file behind a host library, or empty if the host has none.
fs::path host_library(const std::string& soname) {
  for (const char* dir : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                          "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib"}) {
    std::error_code ec;
    fs::path p = fs::canonical(fs::path(dir) / soname, ec);
    if (!ec) return p;
  }
  return {};
}

std::string read_host(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A root whose ld.so.conf lists /opt/lib, holding libz (file + soname
// link), optionally a copy in glibc-hwcaps/x86-64-v2, and a cache written
// by the host's ldconfig in `format`. Empty when the host cannot do it.
std::string ldconfig_cache(const TempDir& root, const std::string& format, bool hwcaps) {
  const fs::path libz = host_library("libz.so.1");
  if (libz.empty() || kHostAbi < 0 || !fs::exists(kLdconfig)) return {};
  test::write_file(root / "/etc/ld.so.conf", "/opt/lib\n");
  const std::string real = libz.filename().string();
  test::copy_file(libz, root / ("/opt/lib/" + real));
  test::make_symlink(root / "/opt/lib/libz.so.1", real);
  if (hwcaps) test::copy_file(libz, root / ("/opt/lib/glibc-hwcaps/x86-64-v2/" + real));
  const std::string cmd = fmt::format("'{}' -r '{}' -c {} >/dev/null 2>&1", kLdconfig.string(),
                                      root.path().string(), format);
  if (std::system(cmd.c_str()) != 0) return {};
  return read_host(root / "/etc/ld.so.cache");
}

#define REAL_CACHE(var, format, hwcaps)                               \
  TempDir root_##var;                                                 \
  const std::string var = ldconfig_cache(root_##var, format, hwcaps); \
  if (var.empty()) GTEST_SKIP() << "host has no ldconfig, libz or known ABI"

// Builds cache images by hand, for layouts ldconfig will not write.
struct Raw {
  std::int32_t flags;
  std::string key;
  std::string value;
  std::uint64_t hwcap = 0;
};

void put(std::string& out, std::uint64_t v, int width, bool big = false) {
  for (int i = 0; i < width; ++i) {
    const int shift = 8 * (big ? width - 1 - i : i);
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

// New format; with `hwcaps` names, an extension directory holding them.
std::string new_image(const std::vector<Raw>& entries, const std::vector<std::string>& hwcaps = {},
                      bool big = false, std::uint8_t flags = 2) {
  std::string strings;
  const std::size_t strings_at = 48 + 24 * entries.size();
  auto intern = [&](const std::string& s) {
    const std::size_t at = strings_at + strings.size();
    strings += s;
    strings.push_back('\0');
    return at;
  };
  std::string table;
  for (const auto& e : entries) {
    put(table, static_cast<std::uint32_t>(e.flags), 4, big);
    put(table, intern(e.key), 4, big);
    put(table, intern(e.value), 4, big);
    put(table, 0, 4, big);
    put(table, e.hwcap, 8, big);
  }
  std::vector<std::size_t> names;
  for (const auto& n : hwcaps) names.push_back(intern(n));
  while ((strings_at + strings.size()) % 4 != 0) strings.push_back('\0');
  const std::size_t ext_at = hwcaps.empty() ? 0 : strings_at + strings.size();

  std::string out = "glibc-ld.so.cache1.1";
  put(out, entries.size(), 4, big);
  put(out, strings.size(), 4, big);
  out.push_back(static_cast<char>(flags));
  out.append(3, '\0');
  put(out, ext_at, 4, big);
  out.append(12, '\0');
  out += table;
  out += strings;
  if (!hwcaps.empty()) {
    put(out, 0xEAA42174, 4, big);
    put(out, 1, 4, big);
    put(out, 1, 4, big);                 // tag: glibc-hwcaps
    put(out, 0, 4, big);                 // flags
    put(out, ext_at + 8 + 16, 4, big);   // offset
    put(out, 4 * names.size(), 4, big);  // size
    for (auto n : names) put(out, n, 4, big);
  }
  return out;
}

// Old format, optionally followed by `embedded` aligned to 8.
std::string old_image(const std::vector<Raw>& entries, const std::string& embedded = "") {
  std::string strings;
  std::string table;
  for (const auto& e : entries) {
    put(table, static_cast<std::uint32_t>(e.flags), 4);
    put(table, strings.size(), 4);
    strings += e.key + '\0';
    put(table, strings.size(), 4);
    strings += e.value + '\0';
  }
  std::string out = "ld.so-1.7.0";
  out.push_back('\0');
  put(out, entries.size(), 4);
  out += table;
  if (!embedded.empty()) {
    while (out.size() % 8 != 0) out.push_back('\0');
    out += embedded;
  }
  return out + strings;
}

std::string value_of(const LdCache& cache, const std::string& key) {
  for (const auto& e : cache.entries()) {
    if (e.key == key && e.hwcaps_subdir.empty()) return e.value;
  }
  return {};
}

TEST(LdCache, ParsesNewFormatFromLdconfig) {
  REAL_CACHE(bytes, "new", false);
  auto cache = LdCache::parse(bytes);
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  ASSERT_EQ(cache->entries().size(), 1u);
  const CacheEntry& e = cache->entries()[0];
  EXPECT_EQ(e.key, "libz.so.1");
  EXPECT_EQ(e.value, "/opt/lib/libz.so.1");
  EXPECT_EQ(e.flags, kHostAbi);
  EXPECT_EQ(e.hwcap, 0u);
  EXPECT_TRUE(e.hwcaps_subdir.empty());
}

// Every entry ldconfig -p prints for the host's own cache, in its order.
TEST(LdCache, HostCacheAgreesWithLdconfigPrint) {
  const std::string bytes = read_host("/etc/ld.so.cache");
  if (bytes.empty() || !fs::exists(kLdconfig)) GTEST_SKIP() << "host has no ld.so.cache";
  auto cache = LdCache::parse(bytes);
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  const test::CommandResult printed = test::run_command(kLdconfig.string() + " -p");
  ASSERT_EQ(printed.status, 0);
  std::istringstream lines(printed.output);
  std::string line;
  std::size_t i = 0;
  while (std::getline(lines, line)) {
    const auto arrow = line.find(") => ");
    if (line.empty() || line[0] != '\t' || arrow == std::string::npos) continue;
    ASSERT_LT(i, cache->entries().size());
    const CacheEntry& e = cache->entries()[i++];
    EXPECT_EQ(line.substr(1, line.find(" (") - 1), e.key);
    EXPECT_EQ(line.substr(arrow + 5), e.value);
  }
  EXPECT_EQ(i, cache->entries().size());
}

TEST(LdCache, LookupFindsTheSoname) {
  REAL_CACHE(bytes, "new", false);
  auto cache = LdCache::parse(bytes);
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ(cache->lookup("libz.so.1", kHostAbi, {}), "/opt/lib/libz.so.1");
  EXPECT_EQ(cache->lookup("libz.so.2", kHostAbi, {}), std::nullopt);
  EXPECT_EQ(cache->lookup("libz.so", kHostAbi, {}), std::nullopt);
}

TEST(LdCache, WrongAbiFlagsAreNotReturned) {
  REAL_CACHE(bytes, "new", false);
  auto cache = LdCache::parse(bytes);
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ(cache->lookup("libz.so.1", kForeignAbi, {}), std::nullopt);
  EXPECT_EQ(cache->lookup("libz.so.1", cacheflags::kElfLibc6, {}), std::nullopt);
}

TEST(LdCache, RecordsGlibcHwcapsSubdirectory) {
  REAL_CACHE(bytes, "new", true);
  auto cache = LdCache::parse(bytes);
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  ASSERT_EQ(cache->entries().size(), 2u);
  // ldconfig sorts glibc-hwcaps entries before plain ones.
  const CacheEntry& e = cache->entries()[0];
  EXPECT_EQ(e.key, "libz.so.1");
  EXPECT_EQ(e.hwcaps_subdir, "x86-64-v2");
  EXPECT_NE(e.hwcap & kCacheHwcapExtension, 0u);
  EXPECT_EQ(e.value.rfind("/opt/lib/glibc-hwcaps/x86-64-v2/libz.so.1", 0), 0u) << e.value;
}

TEST(LdCache, LookupPrefersListedHwcapsSubdirectory) {
  REAL_CACHE(bytes, "new", true);
  auto cache = LdCache::parse(bytes);
  ASSERT_TRUE(cache.ok());
  auto found = cache->lookup("libz.so.1", kHostAbi, kV2);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->rfind("/opt/lib/glibc-hwcaps/x86-64-v2/", 0), 0u) << *found;
}

TEST(LdCache, LookupSkipsUnlistedHwcapsSubdirectory) {
  REAL_CACHE(bytes, "new", true);
  auto cache = LdCache::parse(bytes);
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ(cache->lookup("libz.so.1", kHostAbi, {}), "/opt/lib/libz.so.1");
  EXPECT_EQ(cache->lookup("libz.so.1", kHostAbi, {"x86-64-v3"}), "/opt/lib/libz.so.1");
}

TEST(LdCache, CompatFormatUsesEmbeddedNewFormat) {
  REAL_CACHE(bytes, "compat", false);
  ASSERT_EQ(bytes.rfind("ld.so-1.7.0", 0), 0u);
  auto cache = LdCache::parse(bytes);
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  EXPECT_EQ(cache->lookup("libz.so.1", kHostAbi, {}), "/opt/lib/libz.so.1");
}

// ld.so reads glibc-hwcaps names relative to the file start, ldconfig writes
// them relative to the new header: in compat caches the names come out
// wrong and ld.so never picks those entries. So must lookup().
TEST(LdCache, CompatFormatHwcapsEntriesAreUnusableAsInLdSo) {
  REAL_CACHE(bytes, "compat", true);
  auto cache = LdCache::parse(bytes);
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  ASSERT_EQ(cache->entries().size(), 2u);
  EXPECT_NE(cache->entries()[0].hwcaps_subdir, "x86-64-v2");
  EXPECT_EQ(cache->lookup("libz.so.1", kHostAbi, kV2), "/opt/lib/libz.so.1");
}

TEST(LdCache, ParsesOldFormatFromLdconfig) {
  REAL_CACHE(bytes, "old", false);
  auto cache = LdCache::parse(bytes);
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  ASSERT_EQ(cache->entries().size(), 1u);
  EXPECT_EQ(cache->entries()[0].flags, kHostAbi);
  EXPECT_EQ(cache->lookup("libz.so.1", kHostAbi, {}), "/opt/lib/libz.so.1");
}

// The old format has no hwcap field; ldconfig still lists glibc-hwcaps
// libraries in it, first, so ld.so takes them whatever the CPU.
TEST(LdCache, OldFormatReturnsHwcapsLibraryFirst) {
  REAL_CACHE(bytes, "old", true);
  auto cache = LdCache::parse(bytes);
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  auto found = cache->lookup("libz.so.1", kHostAbi, {});
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->rfind("/opt/lib/glibc-hwcaps/x86-64-v2/", 0), 0u) << *found;
}

TEST(LdCache, HandBuiltOldPlusNewUsesOnlyNewPart) {
  const std::string image = old_image({{0x303, "libold.so.1", "/old/libold.so.1"}},
                                      new_image({{0x303, "libnew.so.1", "/new/libnew.so.1"}}));
  auto cache = LdCache::parse(image);
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  ASSERT_EQ(cache->entries().size(), 1u);
  EXPECT_EQ(cache->entries()[0].key, "libnew.so.1");
}

TEST(LdCache, HandBuiltOldFormatAlone) {
  auto cache = LdCache::parse(old_image({{0x303, "libold.so.1", "/old/libold.so.1"}}));
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  EXPECT_EQ(value_of(*cache, "libold.so.1"), "/old/libold.so.1");
}

TEST(LdCache, BigEndianCacheIsReadInItsByteOrder) {
  const std::string image = new_image(
      {{0x303, "libz.so.1", "/lib/libz.so.1", kCacheHwcapExtension}}, {"power10"}, true, 3);
  auto cache = LdCache::parse(image);
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  ASSERT_EQ(cache->entries().size(), 1u);
  EXPECT_EQ(cache->entries()[0].flags, 0x303);
  EXPECT_EQ(cache->entries()[0].hwcaps_subdir, "power10");
}

TEST(LdCache, InvalidByteOrderMarkIsAnError) {
  EXPECT_FALSE(LdCache::parse(new_image({{0x303, "a", "/a"}}, {}, false, 1)).ok());
}

TEST(LdCache, UnsetByteOrderMarkIsAccepted) {
  auto cache = LdCache::parse(new_image({{0x303, "liba.so", "/a"}}, {}, false, 0));
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ(cache->lookup("liba.so", 0x303, {}), "/a");
}

TEST(LdCache, GarbageIsAnError) {
  EXPECT_FALSE(LdCache::parse("").ok());
  EXPECT_FALSE(LdCache::parse("glibc-ld.so.cache1.1").ok());
  EXPECT_FALSE(LdCache::parse(std::string(4096, 'x')).ok());
}

TEST(LdCache, EntryCountBeyondFileIsAnError) {
  std::string image = new_image({{0x303, "a", "/a"}});
  image[20] = '\xff';
  image[21] = '\xff';
  image[22] = '\xff';
  image[23] = '\x7f';
  EXPECT_FALSE(LdCache::parse(image).ok());
}

TEST(LdCache, StringOffsetBeyondFileIsAnError) {
  std::string image = new_image({{0x303, "a", "/a"}});
  image[48 + 4] = '\xf0';  // key offset of entry 0
  image[48 + 5] = '\xff';
  EXPECT_FALSE(LdCache::parse(image).ok());
}

TEST(LdCache, HwcapsIndexOutOfRangeLeavesEntryUnusable) {
  const std::string image = new_image(
      {{0x303, "liba.so.1", "/v2/liba.so.1", kCacheHwcapExtension | 7}, {0x303, "liba.so.1", "/a"}},
      {"x86-64-v2"});
  auto cache = LdCache::parse(image);
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  EXPECT_TRUE(cache->entries()[0].hwcaps_subdir.empty());
  EXPECT_EQ(cache->lookup("liba.so.1", 0x303, kV2), "/a");
}

TEST(LdCache, TruncatedAtEveryOffsetIsAnError) {
  REAL_CACHE(bytes, "new", true);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(LdCache::parse(std::string_view(bytes).substr(0, n)).ok()) << "length " << n;
  }
}

TEST(LdCache, TruncatedCompatAndOldNeverCrash) {
  for (const char* format : {"compat", "old"}) {
    REAL_CACHE(bytes, format, true);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      auto cache = LdCache::parse(std::string_view(bytes).substr(0, n));
      if (cache.ok()) (void)cache->lookup("libz.so.1", kHostAbi, kV2);
    }
  }
}

TEST(LdCache, RandomByteFlipsNeverCrash) {
  REAL_CACHE(bytes, "compat", true);
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<std::size_t> where(0, bytes.size() - 1);
  std::uniform_int_distribution<int> value(0, 255);
  std::uniform_int_distribution<int> count(1, 8);
  for (int round = 0; round < 5000; ++round) {
    std::string damaged = bytes;
    for (int k = count(rng); k > 0; --k) damaged[where(rng)] = static_cast<char>(value(rng));
    auto cache = LdCache::parse(damaged);
    if (cache.ok()) (void)cache->lookup("libz.so.1", kHostAbi, kV2);
  }
}

TEST(LdCache, LibcmpComparesDigitRunsAsNumbers) {
  EXPECT_GT(cache_libcmp("libfoo.so.10", "libfoo.so.9"), 0);
  EXPECT_LT(cache_libcmp("libfoo.so.1.2", "libfoo.so.1.10"), 0);
  EXPECT_EQ(cache_libcmp("libfoo.so.01", "libfoo.so.1"), 0);
  EXPECT_EQ(cache_libcmp("libfoo.so.1", "libfoo.so.1"), 0);
  EXPECT_LT(cache_libcmp("libfoo.so", "libfoo.so.1"), 0);
  EXPECT_GT(cache_libcmp("libfoo.so.1", "libfoo.so"), 0);
  EXPECT_GT(cache_libcmp("libfoo1", "libfoox"), 0);  // a digit sorts after any non-digit
  EXPECT_LT(cache_libcmp("libbar", "libfoo"), 0);
  EXPECT_GT(cache_libcmp("libfoo.so.99999999999999999999", "libfoo.so.9"), 0);
}

CacheEntry entry(std::int32_t flags, std::string key, std::string value, std::uint64_t hwcap = 0,
                 std::string subdir = {}) {
  return CacheEntry{flags, std::move(key), std::move(value), hwcap, std::move(subdir)};
}

TEST(LdCache, FromEntriesKeepsEarlierDirectoryFirst) {
  auto cache = LdCache::from_entries({entry(0x303, "liba.so.1", "/first/liba.so.1"),
                                      entry(0x303, "libb.so.1", "/first/libb.so.1"),
                                      entry(0x303, "liba.so.1", "/second/liba.so.1")});
  EXPECT_EQ(cache.lookup("liba.so.1", 0x303, {}), "/first/liba.so.1");
  EXPECT_EQ(cache.lookup("libb.so.1", 0x303, {}), "/first/libb.so.1");
}

TEST(LdCache, LookupPicksEntryWithMatchingFlags) {
  auto cache = LdCache::from_entries({entry(kForeignAbi, "liba.so.1", "/x32/liba.so.1"),
                                      entry(0x303, "liba.so.1", "/64/liba.so.1")});
  EXPECT_EQ(cache.lookup("liba.so.1", 0x303, {}), "/64/liba.so.1");
  EXPECT_EQ(cache.lookup("liba.so.1", kForeignAbi, {}), "/x32/liba.so.1");
}

TEST(LdCache, LookupTakesMostPreferredHwcapsSubdirectory) {
  auto cache = LdCache::from_entries({entry(0x303, "liba.so.1", "/a", 0, ""),
                                      entry(0x303, "liba.so.1", "/v2/a", 0, "x86-64-v2"),
                                      entry(0x303, "liba.so.1", "/v3/a", 0, "x86-64-v3")});
  EXPECT_EQ(cache.lookup("liba.so.1", 0x303, kV2), "/v3/a");
  EXPECT_EQ(cache.lookup("liba.so.1", 0x303, {"x86-64-v2"}), "/v2/a");
}

TEST(LdCache, LookupSkipsLegacyHwcapEntries) {
  auto cache = LdCache::from_entries(
      {entry(0x303, "liba.so.1", "/tls/a", 1ull << 63), entry(0x303, "liba.so.1", "/a")});
  EXPECT_EQ(cache.lookup("liba.so.1", 0x303, {}), "/a");
}

TEST(LdCache, LookupSkipsHwcapsEntryNeedingHigherIsaLevel) {
  // ISA level bits (x86 GNU property): this one needs x86-64-v3.
  auto cache =
      LdCache::from_entries({entry(0x303, "liba.so.1", "/v2/a", (1ull << 2) << 32, "x86-64-v2"),
                             entry(0x303, "liba.so.1", "/a")});
  EXPECT_EQ(cache.lookup("liba.so.1", 0x303, {"x86-64-v2"}), "/a");
  EXPECT_EQ(cache.lookup("liba.so.1", 0x303, kV2), "/v2/a");
}

}  // namespace
}  // namespace elfprune
