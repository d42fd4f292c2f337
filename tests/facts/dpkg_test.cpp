#include "facts/dpkg.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.hpp"

namespace elfprune {
namespace {

using test::make_symlink;
using test::TempDir;
using test::write_file;

using Groups = std::vector<std::vector<std::string>>;

constexpr std::string_view kStatus = "/var/lib/dpkg/status";

std::string stanza(std::string_view package, std::string_view extra = "",
                   std::string_view status = "install ok installed") {
  return fmt::format("Package: {}\nStatus: {}\nArchitecture: amd64\n{}\n", package, status, extra);
}

DpkgDb read_status(const TempDir& dir, std::string_view status) {
  write_file(dir / kStatus, status);
  return read_dpkg(Root(dir.path()));
}

TEST(Dpkg, NoDatabaseIsNotPresent) {
  TempDir dir;
  write_file(dir / "etc/hostname", "x\n");
  DpkgDb db = read_dpkg(Root(dir.path()));
  EXPECT_FALSE(db.present);
  EXPECT_TRUE(db.packages.empty());
  EXPECT_TRUE(db.warnings.empty());
}

TEST(Dpkg, ReadsBasicFields) {
  TempDir dir;
  DpkgDb db = read_status(dir, stanza("libc6",
                                      "Section: libs\nEssential: yes\n"
                                      "Description: GNU C Library\n more text\n .\n"));
  ASSERT_TRUE(db.present);
  ASSERT_EQ(db.packages.count("libc6"), 1u);
  const DpkgPackage& pkg = db.packages.at("libc6");
  EXPECT_EQ(pkg.name, "libc6");
  EXPECT_EQ(pkg.section, "libs");
  EXPECT_EQ(pkg.source, "libc6");
  EXPECT_TRUE(pkg.essential);
}

TEST(Dpkg, SourceWithVersionKeepsName) {
  TempDir dir;
  DpkgDb db = read_status(dir, stanza("libc-bin", "Source: glibc (2.36-9+deb12u4)\n"));
  EXPECT_EQ(db.packages.at("libc-bin").source, "glibc");
}

TEST(Dpkg, DependsAlternativesVersionsAndArchQualifiers) {
  TempDir dir;
  DpkgDb db = read_status(
      dir, stanza("app", "Depends: a (>= 1), b:any | c (= 2) [amd64], d:amd64 (<< 3~)\n"));
  EXPECT_EQ(db.packages.at("app").depends, (Groups{{"a"}, {"b", "c"}, {"d"}}));
}

TEST(Dpkg, PreDependsJoinDepends) {
  TempDir dir;
  DpkgDb db = read_status(dir, stanza("app", "Pre-Depends: libc6 (>= 2.34)\nDepends: zlib1g\n"));
  EXPECT_EQ(db.packages.at("app").depends, (Groups{{"libc6"}, {"zlib1g"}}));
}

TEST(Dpkg, FoldedDependsAcrossLines) {
  TempDir dir;
  DpkgDb db = read_status(dir, stanza("app", "Depends: a,\n b (>= 1),\n\tc\n"));
  EXPECT_EQ(db.packages.at("app").depends, (Groups{{"a"}, {"b"}, {"c"}}));
}

TEST(Dpkg, FieldNamesAreCaseInsensitive) {
  TempDir dir;
  DpkgDb db = read_status(dir, "package: app\nstatus: install ok installed\ndepends: a\n");
  ASSERT_EQ(db.packages.count("app"), 1u);
  EXPECT_EQ(db.packages.at("app").depends, (Groups{{"a"}}));
}

TEST(Dpkg, NotInstalledPackagesAreIgnored) {
  TempDir dir;
  write_file(dir / "var/lib/dpkg/info/here.list", "");
  DpkgDb db =
      read_status(dir, stanza("gone", "", "deinstall ok config-files") + "\n" +
                           stanza("half", "", "install ok unpacked") + "\n" +
                           stanza("broken", "", "install reinstreq installed") + "\n" +
                           stanza("never", "", "purge ok not-installed") + "\n" + stanza("here"));
  EXPECT_EQ(db.packages.size(), 1u);
  EXPECT_EQ(db.packages.count("here"), 1u);
  EXPECT_TRUE(db.warnings.empty()) << db.warnings.front();
}

TEST(Dpkg, HeldAndTriggerPendingPackagesAreInstalled) {
  TempDir dir;
  DpkgDb db = read_status(dir, stanza("held", "", "hold ok installed") + "\n" +
                                   stanza("trig", "", "install ok triggers-pending"));
  EXPECT_EQ(db.packages.count("held"), 1u);
  EXPECT_EQ(db.packages.count("trig"), 1u);
}

TEST(Dpkg, FindsByProvides) {
  TempDir dir;
  DpkgDb db = read_status(dir, stanza("mawk", "Provides: awk (= 1.3.4)\n") + "\n" +
                                   stanza("debconf", "Provides: debconf-2.0\n"));
  EXPECT_EQ(db.packages.at("mawk").provides, (std::vector<std::string>{"awk"}));
  ASSERT_NE(db.find("awk"), nullptr);
  EXPECT_EQ(db.find("awk")->name, "mawk");
  ASSERT_NE(db.find("mawk"), nullptr);
  EXPECT_EQ(db.find("mawk")->name, "mawk");
  EXPECT_EQ(db.find("gawk"), nullptr);
}

TEST(Dpkg, RealPackageWinsOverProvider) {
  TempDir dir;
  DpkgDb db = read_status(dir, stanza("awk-impl", "Provides: mawk\n") + "\n" + stanza("mawk"));
  EXPECT_EQ(db.find("mawk")->name, "mawk");
}

TEST(Dpkg, MalformedStanzaIsSkippedWithWarning) {
  TempDir dir;
  write_file(dir / "var/lib/dpkg/info/before.list", "");
  write_file(dir / "var/lib/dpkg/info/after.list", "");
  DpkgDb db = read_status(dir, stanza("before") +
                                   "\nPackage: bad\nthis line has no colon\n"
                                   "Status: install ok installed\n\n" +
                                   "Status: install ok installed\n\n" + stanza("after"));
  EXPECT_EQ(db.packages.count("before"), 1u);
  EXPECT_EQ(db.packages.count("after"), 1u);
  EXPECT_EQ(db.packages.count("bad"), 0u);
  ASSERT_EQ(db.warnings.size(), 2u);
  EXPECT_NE(db.warnings[0].find("/var/lib/dpkg/status:7: not a `Field: value` line"),
            std::string::npos)
      << db.warnings[0];
  EXPECT_NE(db.warnings[1].find("no Package field"), std::string::npos) << db.warnings[1];
}

TEST(Dpkg, ReadsFileListsAndOwners) {
  TempDir dir;
  write_file(dir / "var/lib/dpkg/info/app.list", "/.\n/usr\n/usr/bin\n/usr/bin/app\n");
  write_file(dir / "usr/bin/app", "");
  DpkgDb db = read_status(dir, stanza("app"));
  EXPECT_EQ(db.packages.at("app").files,
            (std::vector<std::string>{"/usr", "/usr/bin", "/usr/bin/app"}));
  ASSERT_NE(db.owner_of("/usr/bin/app"), nullptr);
  EXPECT_EQ(db.owner_of("/usr/bin/app")->name, "app");
  EXPECT_EQ(db.owner_of("/usr/bin/other"), nullptr);
  EXPECT_EQ(db.owner_of("/."), nullptr);
}

TEST(Dpkg, MultiArchListNames) {
  TempDir dir;
  write_file(dir / "var/lib/dpkg/info/libfoo1:amd64.list",
             "/usr/lib/x86_64-linux-gnu/libfoo.so.1\n");
  write_file(dir / "var/lib/dpkg/info/libfoo1:i386.list", "/usr/lib/i386-linux-gnu/libfoo.so.1\n");
  DpkgDb db =
      read_status(dir, stanza("libfoo1", "Multi-Arch: same\n") + "\n" +
                           "Package: libfoo1\nStatus: install ok installed\nArchitecture: i386\n");
  ASSERT_EQ(db.packages.size(), 1u);
  EXPECT_EQ(db.owner_of("/usr/lib/x86_64-linux-gnu/libfoo.so.1")->name, "libfoo1");
  EXPECT_EQ(db.owner_of("/usr/lib/i386-linux-gnu/libfoo.so.1")->name, "libfoo1");
  EXPECT_TRUE(db.warnings.empty()) << db.warnings.front();
}

TEST(Dpkg, MissingListIsOneWarning) {
  TempDir dir;
  DpkgDb db = read_status(dir, stanza("a") + "\n" + stanza("b"));
  EXPECT_EQ(db.packages.size(), 2u);
  ASSERT_EQ(db.warnings.size(), 1u);
  EXPECT_NE(db.warnings[0].find("2 installed package(s) have no file list"), std::string::npos)
      << db.warnings[0];
}

// Debian 12 is merged-/usr: lists still say /lib/..., the file lives in /usr/lib.
TEST(Dpkg, OwnerFoundThroughSymlinkedDirectory) {
  TempDir dir;
  make_symlink(dir / "lib", "usr/lib");
  write_file(dir / "usr/lib/x86_64-linux-gnu/libc.so.6", "");
  write_file(dir / "var/lib/dpkg/info/libc6:amd64.list",
             "/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n");
  DpkgDb db = read_status(dir, stanza("libc6", "Multi-Arch: same\n"));
  ASSERT_NE(db.owner_of("/lib/x86_64-linux-gnu/libc.so.6"), nullptr);
  ASSERT_NE(db.owner_of("/usr/lib/x86_64-linux-gnu/libc.so.6"), nullptr);
  EXPECT_EQ(db.owner_of("/usr/lib/x86_64-linux-gnu/libc.so.6")->name, "libc6");
  EXPECT_EQ(db.canonical.count("/lib/x86_64-linux-gnu/libc.so.6"), 0u);
}

// A listed symlink is owned as the symlink, not as its target.
TEST(Dpkg, ListedSymlinkIsNotFollowed) {
  TempDir dir;
  write_file(dir / "usr/lib/libz.so.1.2.13", "");
  make_symlink(dir / "usr/lib/libz.so.1", "libz.so.1.2.13");
  write_file(dir / "var/lib/dpkg/info/zlib1g.list", "/usr/lib/libz.so.1\n");
  DpkgDb db = read_status(dir, stanza("zlib1g"));
  EXPECT_NE(db.owner_of("/usr/lib/libz.so.1"), nullptr);
  EXPECT_EQ(db.owner_of("/usr/lib/libz.so.1.2.13"), nullptr);
  EXPECT_TRUE(db.canonical.empty());
}

TEST(Dpkg, SharedDirectoryGoesToFirstPackageByName) {
  TempDir dir;
  write_file(dir / "var/lib/dpkg/info/b.list", "/usr/share/doc\n");
  write_file(dir / "var/lib/dpkg/info/a.list", "/usr/share/doc\n");
  DpkgDb db = read_status(dir, stanza("b") + "\n" + stanza("a"));
  EXPECT_EQ(db.owner_of("/usr/share/doc")->name, "a");
}

TEST(Dpkg, InstallTimeOnlyPackages) {
  for (const char* name : {"dpkg", "debconf", "debconf-2.0", "init-system-helpers", "adduser",
                           "ucf", "install-info", "sensible-utils"}) {
    EXPECT_TRUE(is_install_time_only(name)) << name;
  }
  for (const char* name : {"debianutils", "perl-base", "libc6", "python3", "dash"}) {
    EXPECT_FALSE(is_install_time_only(name)) << name;
  }
}

// The host's own database (the build machine is Debian 12).
TEST(Dpkg, HostDatabaseOwners) {
  if (!std::filesystem::exists("/var/lib/dpkg/status")) GTEST_SKIP() << "host has no dpkg";
  DpkgDb db = read_dpkg(Root("/"));
  ASSERT_TRUE(db.present);
  const DpkgPackage* dpkg = db.owner_of("/usr/bin/dpkg");
  ASSERT_NE(dpkg, nullptr);
  EXPECT_EQ(dpkg->name, "dpkg");
  for (const char* libc :
       {"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"}) {
    if (!std::filesystem::exists(libc)) continue;
    const DpkgPackage* owner = db.owner_of(libc);
    ASSERT_NE(owner, nullptr) << libc;
    EXPECT_EQ(owner->name, "libc6") << libc;
  }
}

}  // namespace
}  // namespace elfprune
