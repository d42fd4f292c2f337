#include "loader/ldconf.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "elf/elf_info.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace elfprune {
namespace {

using test::TempDir;
using Dirs = std::vector<std::string>;

constexpr std::int32_t kAbi = cacheflags::kElfLibc6 | cacheflags::kX8664Lib64;

LdConf parse_conf(const TempDir& dir, const std::string& conf) {
  test::write_file(dir / "/etc/ld.so.conf", conf);
  return parse_ld_so_conf(Root(dir.path()));
}

// ---- ld.so.conf ----------------------------------------------------------

TEST(LdConf, IgnoresCommentsAndBlankLines) {
  TempDir dir;
  LdConf conf = parse_conf(dir, "# comment\n\n   \n  /usr/local/lib # trailing\n/opt/lib\n#/no\n");
  EXPECT_EQ(conf.directories, (Dirs{"/usr/local/lib", "/opt/lib"}));
  EXPECT_TRUE(conf.warnings.empty());
}

TEST(LdConf, StripsTrailingBlanksAndSlashes) {
  TempDir dir;
  LdConf conf = parse_conf(dir, "/opt/lib//  \n\t/usr/lib/\r\n/srv/lib\t\n");
  EXPECT_EQ(conf.directories, (Dirs{"/opt/lib", "/usr/lib", "/srv/lib"}));
}

TEST(LdConf, DropsRootDirectoryAndLibraryTypeSuffix) {
  TempDir dir;
  LdConf conf = parse_conf(dir, "/\n/opt/lib=libc6\n");
  EXPECT_EQ(conf.directories, (Dirs{"/opt/lib"}));
}

TEST(LdConf, DuplicatesKeepFirstPosition) {
  TempDir dir;
  LdConf conf = parse_conf(dir, "/a\n/b\n/a/\n/c\n/b\n");
  EXPECT_EQ(conf.directories, (Dirs{"/a", "/b", "/c"}));
}

TEST(LdConf, MissingFileGivesNothing) {
  TempDir dir;
  LdConf conf = parse_ld_so_conf(Root(dir.path()));
  EXPECT_TRUE(conf.directories.empty());
  EXPECT_TRUE(conf.warnings.empty());
}

TEST(LdConf, IncludeGlobIsReadInSortedOrder) {
  TempDir dir;
  test::write_file(dir / "/etc/ld.so.conf.d/b.conf", "/b\n");
  test::write_file(dir / "/etc/ld.so.conf.d/a.conf", "/a\n");
  test::write_file(dir / "/etc/ld.so.conf.d/Z.conf", "/Z\n");
  test::write_file(dir / "/etc/ld.so.conf.d/10.conf", "/10\n");
  test::write_file(dir / "/etc/ld.so.conf.d/c.txt", "/not-included\n");
  test::write_file(dir / "/etc/ld.so.conf.d/.hidden.conf", "/hidden\n");
  LdConf conf = parse_conf(dir, "/first\ninclude /etc/ld.so.conf.d/*.conf\n/last\n");
  EXPECT_EQ(conf.directories, (Dirs{"/first", "/10", "/Z", "/a", "/b", "/last"}));
}

TEST(LdConf, RelativeIncludeIsRelativeToIncludingFile) {
  TempDir dir;
  test::write_file(dir / "/etc/conf.d/x.conf", "/x\ninclude sub/*.conf\n");
  test::write_file(dir / "/etc/conf.d/sub/y.conf", "/y\n");
  test::write_file(dir / "/sub/y.conf", "/wrong\n");
  LdConf conf = parse_conf(dir, "include conf.d/*.conf\n");
  EXPECT_EQ(conf.directories, (Dirs{"/x", "/y"}));
}

TEST(LdConf, NestedIncludesExpandInPlace) {
  TempDir dir;
  test::write_file(dir / "/etc/one.conf", "/b\ninclude /etc/two.conf\n/d\n");
  test::write_file(dir / "/etc/two.conf", "/c\n");
  LdConf conf = parse_conf(dir, "/a\ninclude /etc/one.conf\n/e\n");
  EXPECT_EQ(conf.directories, (Dirs{"/a", "/b", "/c", "/d", "/e"}));
}

TEST(LdConf, SeveralPatternsOnOneIncludeLine) {
  TempDir dir;
  test::write_file(dir / "/etc/x.conf", "/x\n");
  test::write_file(dir / "/etc/y.conf", "/y\n");
  LdConf conf = parse_conf(dir, "include\t/etc/y.conf  /etc/x.conf\n");
  EXPECT_EQ(conf.directories, (Dirs{"/y", "/x"}));
}

TEST(LdConf, GlobInDirectoryComponent) {
  TempDir dir;
  test::write_file(dir / "/etc/conf.a/1.conf", "/a1\n");
  test::write_file(dir / "/etc/conf.b/1.conf", "/b1\n");
  LdConf conf = parse_conf(dir, "include /etc/conf.*/*.conf\n");
  EXPECT_EQ(conf.directories, (Dirs{"/a1", "/b1"}));
}

TEST(LdConf, IncludeMatchingNothingIsFine) {
  TempDir dir;
  LdConf conf = parse_conf(dir, "include /etc/ld.so.conf.d/*.conf\ninclude /etc/none.conf\n/opt\n");
  EXPECT_EQ(conf.directories, (Dirs{"/opt"}));
  EXPECT_TRUE(conf.warnings.empty());
}

TEST(LdConf, IncludeLoopTerminates) {
  TempDir dir;
  test::write_file(dir / "/etc/loop.d/a.conf", "/a\ninclude /etc/loop.d/*.conf\n");
  test::write_file(dir / "/etc/loop.d/b.conf", "/b\ninclude /etc/ld.so.conf\n");
  LdConf conf = parse_conf(dir, "/top\ninclude /etc/loop.d/*.conf\n");
  EXPECT_EQ(conf.directories, (Dirs{"/top", "/a", "/b"}));
  EXPECT_FALSE(conf.warnings.empty());
}

TEST(LdConf, DeepIncludeChainIsCapped) {
  TempDir dir;
  for (int i = 0; i < 30; ++i) {
    test::write_file(dir / fmt::format("/etc/c{}.conf", i),
                     fmt::format("/d{}\ninclude /etc/c{}.conf\n", i, i + 1));
  }
  LdConf conf = parse_conf(dir, "include /etc/c0.conf\n");
  EXPECT_GT(conf.directories.size(), 10u);
  EXPECT_LT(conf.directories.size(), 30u);
  EXPECT_FALSE(conf.warnings.empty());
}

TEST(LdConf, IncludeDoesNotLeaveTheRoot) {
  TempDir dir;
  // Resolved inside the root, this is the root's own (missing) /etc/ld.so.conf.d.
  test::make_symlink(dir / "/etc/evil", "../../../../../../etc/ld.so.conf.d");
  LdConf conf =
      parse_conf(dir, "include /etc/evil/*.conf\ninclude /etc/evil/../../../etc/*.conf\n");
  EXPECT_TRUE(conf.directories.empty());
}

TEST(LdConf, HwcapDirectiveIsIgnoredWithWarning) {
  TempDir dir;
  LdConf conf = parse_conf(dir, "HWCAP 1 tls\n/opt\n");
  EXPECT_EQ(conf.directories, (Dirs{"/opt"}));
  ASSERT_EQ(conf.warnings.size(), 1u);
  EXPECT_NE(conf.warnings[0].find("hwcap"), std::string::npos) << conf.warnings[0];
}

// ---- ldconfig emulation --------------------------------------------------

struct HostLib {
  fs::path file;       // the real file
  std::string soname;  // its DT_SONAME
};

HostLib host_libz() {
  std::error_code ec;
  for (const char* dir : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"}) {
    fs::path p = fs::canonical(fs::path(dir) / "libz.so.1", ec);
    if (!ec) return {p, "libz.so.1"};
  }
  return {};
}

#define NEED_LIBZ(var)             \
  const HostLib var = host_libz(); \
  if (var.file.empty()) GTEST_SKIP() << "no x86-64 libz on this host"

LdCache emulate(const TempDir& dir, const Dirs& dirs) {
  return emulate_ldconfig(Root(dir.path()), dirs, elfconst::kClass64, elfconst::kMachineX86_64,
                          kAbi);
}

// /opt/a holds libz's real file and its soname link, as a package installs it.
void install_libz(const TempDir& dir, const HostLib& z, const std::string& at) {
  const std::string real = z.file.filename().string();
  test::copy_file(z.file, dir / (at + "/" + real));
  test::make_symlink(dir / (at + "/" + z.soname), real);
}

TEST(LdConfigEmulation, KeyIsSonameValueIsDirPlusSoname) {
  NEED_LIBZ(z);
  TempDir dir;
  install_libz(dir, z, "/opt/a");
  LdCache cache = emulate(dir, {"/opt/a"});
  ASSERT_EQ(cache.entries().size(), 1u);
  EXPECT_EQ(cache.entries()[0].key, "libz.so.1");
  EXPECT_EQ(cache.entries()[0].value, "/opt/a/libz.so.1");
  EXPECT_EQ(cache.entries()[0].flags, kAbi);
}

TEST(LdConfigEmulation, EarlierDirectoryWins) {
  NEED_LIBZ(z);
  TempDir dir;
  install_libz(dir, z, "/opt/a");
  install_libz(dir, z, "/opt/b");
  EXPECT_EQ(emulate(dir, {"/opt/a", "/opt/b"}).lookup("libz.so.1", kAbi, {}), "/opt/a/libz.so.1");
  EXPECT_EQ(emulate(dir, {"/opt/b", "/opt/a"}).lookup("libz.so.1", kAbi, {}), "/opt/b/libz.so.1");
}

TEST(LdConfigEmulation, SameDirectoryTwiceIsScannedOnceUnderFirstName) {
  NEED_LIBZ(z);
  TempDir dir;
  install_libz(dir, z, "/opt/a");
  test::make_symlink(dir / "/opt/alias", "a");
  LdCache cache = emulate(dir, {"/opt/alias/", "/opt/a", "/missing"});
  ASSERT_EQ(cache.entries().size(), 1u);
  EXPECT_EQ(cache.entries()[0].value, "/opt/alias/libz.so.1");
}

TEST(LdConfigEmulation, LinkerSymlinkGetsItsOwnKey) {
  NEED_LIBZ(z);
  TempDir dir;
  install_libz(dir, z, "/opt/a");
  test::make_symlink(dir / "/opt/a/libz.so", z.soname);
  EXPECT_EQ(emulate(dir, {"/opt/a"}).lookup("libz.so", kAbi, {}), "/opt/a/libz.so");
}

TEST(LdConfigEmulation, SkipsNonElfForeignAndUnlikelyNames) {
  NEED_LIBZ(z);
  TempDir dir;
  test::write_file(dir / "/opt/a/libtext.so.1", "not an ELF file\n");
  test::copy_file(z.file, dir / "/opt/a/zlib.so.1");  // no lib prefix
  // The same library claiming to be AArch64 (e_machine at offset 18).
  test::copy_file(z.file, dir / "/opt/a/libforeign.so.1");
  {
    std::fstream f(dir / "/opt/a/libforeign.so.1", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(18);
    f.put(static_cast<char>(elfconst::kMachineAarch64));
    f.put(0);
  }
  EXPECT_TRUE(emulate(dir, {"/opt/a"}).entries().empty());
}

TEST(LdConfigEmulation, HwcapsSubdirectoryIsPreferredWhenListed) {
  NEED_LIBZ(z);
  TempDir dir;
  install_libz(dir, z, "/opt/a");
  test::copy_file(z.file, dir / ("/opt/a/glibc-hwcaps/x86-64-v2/" + z.file.filename().string()));
  LdCache cache = emulate(dir, {"/opt/a"});
  const std::string v2 = "/opt/a/glibc-hwcaps/x86-64-v2/" + z.file.filename().string();
  EXPECT_EQ(cache.lookup("libz.so.1", kAbi, {"x86-64-v3", "x86-64-v2"}), v2);
  EXPECT_EQ(cache.lookup("libz.so.1", kAbi, {}), "/opt/a/libz.so.1");
}

// In a glibc-hwcaps directory the recorded file shows which one won.
TEST(LdConfigEmulation, RegularFileBeatsSymlink) {
  NEED_LIBZ(z);
  TempDir dir;
  test::copy_file(z.file, dir / "/opt/other/libz.so.1.2.99");
  test::make_symlink(dir / "/opt/a/glibc-hwcaps/v/libz.so.1", "/opt/other/libz.so.1.2.99");
  test::copy_file(z.file, dir / "/opt/a/glibc-hwcaps/v/libz.so.1.0.1");
  EXPECT_EQ(emulate(dir, {"/opt/a"}).lookup("libz.so.1", kAbi, {"v"}),
            "/opt/a/glibc-hwcaps/v/libz.so.1.0.1");
}

TEST(LdConfigEmulation, HigherVersionWinsAmongFiles) {
  NEED_LIBZ(z);
  TempDir dir;
  test::copy_file(z.file, dir / "/opt/a/glibc-hwcaps/v/libz.so.1.2.9");
  test::copy_file(z.file, dir / "/opt/a/glibc-hwcaps/v/libz.so.1.2.13");
  EXPECT_EQ(emulate(dir, {"/opt/a"}).lookup("libz.so.1", kAbi, {"v"}),
            "/opt/a/glibc-hwcaps/v/libz.so.1.2.13");
}

// The emulation and the host's ldconfig agree entry for entry on a root
// that exercises the scan rules.
TEST(LdConfigEmulation, AgreesWithHostLdconfig) {
  NEED_LIBZ(z);
  const fs::path ldconfig = "/sbin/ldconfig";
  if (!fs::exists(ldconfig)) GTEST_SKIP() << "no ldconfig";
  TempDir dir;
  install_libz(dir, z, "/opt/a");
  install_libz(dir, z, "/opt/b");
  test::make_symlink(dir / "/opt/a/libz.so", z.soname);
  test::make_symlink(dir / "/opt/a/libzcompat.so.1", z.file.filename().string());
  test::copy_file(z.file, dir / "/opt/b/glibc-hwcaps/x86-64-v3/libz.so.1.2.9");
  test::copy_file(z.file, dir / "/opt/b/glibc-hwcaps/x86-64-v3/libz.so.1.2.10");
  test::copy_file(z.file, dir / "/opt/a/glibc-hwcaps/x86-64-v2/libz.so.1.0");
  test::write_file(dir / "/etc/ld.so.conf", "/opt/b\n/opt/a\n");
  const Dirs dirs = parse_ld_so_conf(Root(dir.path())).directories;
  LdCache emulated = emulate(dir, dirs);

  const std::string cmd =
      fmt::format("'{}' -X -r '{}' >/dev/null 2>&1", ldconfig.string(), dir.path().string());
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir / "/etc/ld.so.cache", std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  auto real = LdCache::parse(bytes.str());
  ASSERT_TRUE(real.ok()) << real.error().message;

  auto line = [](const CacheEntry& e) {
    return fmt::format("{} {:#x} [{}] {}", e.key, e.flags, e.hwcaps_subdir, e.value);
  };
  std::vector<std::string> want;
  std::vector<std::string> got;
  for (const auto& e : real->entries()) want.push_back(line(e));
  for (const auto& e : emulated.entries()) got.push_back(line(e));
  EXPECT_EQ(got, want);
  EXPECT_EQ(want.size(), 5u) << fmt::format("{}", fmt::join(want, "\n"));
}

}  // namespace
}  // namespace elfprune
