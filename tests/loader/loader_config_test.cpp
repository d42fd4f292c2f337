#include "loader/loader_config.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace elfprune {
namespace {

using test::TempDir;
using test::write_file;
using Dirs = std::vector<std::string>;

constexpr const char* kInterp = "/lib64/ld-linux-x86-64.so.2";

LoaderConfig glibc(const Root& root, HwcapsLevel level = HwcapsLevel::Baseline) {
  return detect_loader(root, kInterp, elfconst::kClass64, elfconst::kMachineX86_64,
                       LoaderOptions{level});
}

TEST(LoaderConfig, DefaultDirectoriesAreReadFromTheInterpreter) {
  TempDir dir;
  test::make_glibc_root(dir.path());
  Root root(dir.path());
  LoaderConfig cfg = glibc(root);
  EXPECT_EQ(cfg.flavor, LoaderFlavor::Glibc);
  // Debian 12's ld.so (copied from this host) carries the multiarch list.
  EXPECT_EQ(cfg.default_dirs,
            (Dirs{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"}));
  EXPECT_EQ(cfg.lib_token, "lib/x86_64-linux-gnu");
  EXPECT_EQ(cfg.platform_token, "x86_64");
  EXPECT_EQ(cfg.cache_abi_flags, 0x0303);
}

TEST(LoaderConfig, WithoutAnInterpreterFallsBackByLayout) {
  TempDir dir;
  std::filesystem::create_directories(dir / "usr/lib64");
  Root root(dir.path());
  EXPECT_EQ(glibc(root).default_dirs, (Dirs{"/lib64", "/usr/lib64"}));
  EXPECT_EQ(glibc(root).lib_token, "lib64");
}

TEST(LoaderConfig, HwcapsLevelsMostCapableFirst) {
  TempDir dir;
  test::make_glibc_root(dir.path());
  Root root(dir.path());
  EXPECT_TRUE(glibc(root, HwcapsLevel::Baseline).hwcaps_subdirs.empty());
  EXPECT_EQ(glibc(root, HwcapsLevel::V3).hwcaps_subdirs, (Dirs{"x86-64-v3", "x86-64-v2"}));
}

TEST(LoaderConfig, NoCacheAndNoConfMeansDefaultsOnly) {
  TempDir dir;
  test::make_glibc_root(dir.path());
  Root root(dir.path());
  EXPECT_FALSE(glibc(root).cache.has_value());
}

TEST(LoaderConfig, ConfWithoutCacheMeansLdconfigIsEmulated) {
  TempDir dir;
  test::make_glibc_root(dir.path());
  write_file(dir / "etc/ld.so.conf", "# nothing but the system directories\n");
  Root root(dir.path());
  LoaderConfig cfg = glibc(root);
  EXPECT_TRUE(cfg.cache_emulated);
  ASSERT_TRUE(cfg.cache.has_value());
  EXPECT_EQ(cfg.cache->lookup("libc.so.6", cfg.cache_abi_flags, {}),
            "/lib/x86_64-linux-gnu/libc.so.6");
}

TEST(LoaderConfig, GarbageCacheIsIgnored) {
  TempDir dir;
  test::make_glibc_root(dir.path());
  write_file(dir / "etc/ld.so.cache", "definitely not a cache");
  Root root(dir.path());
  LoaderConfig cfg = glibc(root);
  EXPECT_FALSE(cfg.cache.has_value());
  EXPECT_FALSE(cfg.cache_emulated);
}

LoaderConfig musl(const Root& root, const std::string& interp = "/lib/ld-musl-x86_64.so.1") {
  return detect_loader(root, interp, elfconst::kClass64, elfconst::kMachineX86_64, {});
}

TEST(LoaderConfig, MuslPathFile) {
  TempDir dir;
  write_file(dir / "etc/ld-musl-x86_64.path", "/opt/a:/opt/b\n\n/usr/lib\n");
  Root root(dir.path());
  LoaderConfig cfg = musl(root);
  EXPECT_EQ(cfg.flavor, LoaderFlavor::Musl);
  EXPECT_EQ(cfg.musl_path, (Dirs{"/opt/a", "/opt/b", "/usr/lib"}));
}

TEST(LoaderConfig, MuslPathFileIsBesideTheLoadersParentDirectory) {
  TempDir dir;
  write_file(dir / "usr/etc/ld-musl-x86_64.path", "/usr/local/musl\n");
  Root root(dir.path());
  EXPECT_EQ(musl(root, "/usr/lib/ld-musl-x86_64.so.1").musl_path, (Dirs{"/usr/local/musl"}));
}

TEST(LoaderConfig, MuslWithoutPathFileUsesBuiltInPath) {
  TempDir dir;
  Root root(dir.path());
  EXPECT_EQ(musl(root).musl_path, (Dirs{"/lib", "/usr/local/lib", "/usr/lib"}));
}

TEST(LoaderConfig, MuslEmptyPathFileMeansNoSystemDirectories) {
  TempDir dir;
  write_file(dir / "etc/ld-musl-x86_64.path", "");
  Root root(dir.path());
  EXPECT_TRUE(musl(root).musl_path.empty());
}

TEST(LoaderConfig, ParseHwcapsLevel) {
  EXPECT_EQ(parse_hwcaps_level("v3"), HwcapsLevel::V3);
  EXPECT_EQ(parse_hwcaps_level("x86-64-v2"), HwcapsLevel::V2);
  EXPECT_EQ(parse_hwcaps_level("baseline"), HwcapsLevel::Baseline);
  EXPECT_EQ(parse_hwcaps_level("host"), HwcapsLevel::Host);
  EXPECT_FALSE(parse_hwcaps_level("v9").has_value());
}

TEST(LoaderConfig, DefaultInterpreterPrefersWhatTheRootHas) {
  TempDir dir;
  write_file(dir / "lib/ld-musl-x86_64.so.1", "");
  Root root(dir.path());
  EXPECT_EQ(default_interpreter(root, elfconst::kClass64, elfconst::kMachineX86_64),
            "/lib/ld-musl-x86_64.so.1");
  TempDir empty;
  Root bare(empty.path());
  EXPECT_EQ(default_interpreter(bare, elfconst::kClass64, elfconst::kMachineX86_64),
            "/lib64/ld-linux-x86-64.so.2");
}

}  // namespace
}  // namespace elfprune
