#include "elfprune/closure.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace elfprune {
namespace {

namespace fs = std::filesystem;
using test::compile_c;
using test::make_symlink;
using test::TempDir;
using test::write_file;

class ClosureTest : public ::testing::Test {
 protected:
  void SetUp() override { test::make_glibc_root(tmp_.path()); }

  fs::path host(std::string_view inside) const { return tmp_ / inside; }

  // A program whose .rodata holds `strings` (path references to scan).
  void program(std::string_view inside, const std::vector<std::string>& strings,
               const std::string& flags = "") {
    std::string src = "#include <stdio.h>\n";
    for (std::size_t i = 0; i < strings.size(); ++i) {
      src += "const char* s" + std::to_string(i) + " = \"" + strings[i] + "\";\n";
    }
    src += "int main(void) { return 0; }\n";
    compile_c(src, host(inside), "-Wl,--no-as-needed " + flags);
  }

  Closure close(std::vector<std::string> entries, DpkgDb dpkg = {}) {
    root_.emplace(tmp_.path());
    auto inv = take_inventory(*root_, "/");
    EXPECT_TRUE(inv.ok());
    inventory_ = std::move(*inv);
    resolver_ = std::make_unique<Resolver>(*root_, ResolveOptions{});
    dpkg_ = std::move(dpkg);
    ClosureInputs in;
    in.entries = std::move(entries);
    return compute_closure(*root_, inventory_, *resolver_, dpkg_, in);
  }

  TempDir tmp_;
  std::optional<Root> root_;
  Inventory inventory_;
  std::unique_ptr<Resolver> resolver_;
  DpkgDb dpkg_;
};

TEST_F(ClosureTest, EntryKeepsInterpreterLibrariesAndSymlinksOnTheWay) {
  compile_c("int foo(void) { return 1; }", host("/usr/lib/x86_64-linux-gnu/libfoo.so.1.0"),
            "-shared -fPIC -Wl,-soname,libfoo.so.1");
  make_symlink(host("/usr/lib/x86_64-linux-gnu/libfoo.so.1"), "libfoo.so.1.0");
  program("/usr/bin/prog", {}, test::quoted(host("/usr/lib/x86_64-linux-gnu/libfoo.so.1.0")));
  Closure c = close({"/usr/bin/prog"});
  EXPECT_EQ(c.reached.at("/usr/bin/prog").kind, EdgeKind::Entry);
  EXPECT_EQ(c.reached.at("/usr/lib/x86_64-linux-gnu/libfoo.so.1.0").kind, EdgeKind::Needed);
  EXPECT_EQ(c.reached.at("/usr/lib/x86_64-linux-gnu/libfoo.so.1").kind, EdgeKind::Symlink);
  EXPECT_EQ(c.reached.at("/lib").kind, EdgeKind::Symlink);  // /lib -> usr/lib on the way
  EXPECT_EQ(c.reached.at("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").kind,
            EdgeKind::Interpreter);
  EXPECT_EQ(c.reached.at("/lib64/ld-linux-x86-64.so.2").kind, EdgeKind::Symlink);
  EXPECT_TRUE(c.contains("/usr/lib/x86_64-linux-gnu/libc.so.6"));
  // The protection list of the program names its libraries and the links to them.
  const auto& deps = c.loader_deps.at("/usr/bin/prog");
  EXPECT_NE(std::find(deps.begin(), deps.end(), "/usr/lib/x86_64-linux-gnu/libfoo.so.1"),
            deps.end());
  EXPECT_NE(std::find(deps.begin(), deps.end(), "/usr/lib/x86_64-linux-gnu/libfoo.so.1.0"),
            deps.end());
}

TEST_F(ClosureTest, PathStringsKeepFilesAndSpecificDirectoriesWhole) {
  write_file(host("/etc/app.conf"), "setting=1\n");
  write_file(host("/usr/share/app/data/a.dat"), "a");
  write_file(host("/usr/share/app/b.dat"), "b");
  write_file(host("/usr/share/other/c.dat"), "c");
  program("/usr/bin/prog", {"/etc/app.conf", "/usr/share/app", "/usr/share", "/no/such/file"});
  Closure c = close({"/usr/bin/prog"});
  EXPECT_EQ(c.reached.at("/etc/app.conf").kind, EdgeKind::PathRef);
  EXPECT_EQ(c.reached.at("/etc/app.conf").from, "/usr/bin/prog");
  EXPECT_EQ(c.reached.at("/usr/share/app").kind, EdgeKind::PathRef);
  EXPECT_EQ(c.reached.at("/usr/share/app/data/a.dat").kind, EdgeKind::Contains);
  EXPECT_TRUE(c.contains("/usr/share/app/b.dat"));
  // /usr/share is shared by everything: naming it keeps nothing below it.
  EXPECT_FALSE(c.contains("/usr/share/other/c.dat"));
}

TEST_F(ClosureTest, DataFilesAreNotScanned) {
  write_file(host("/etc/app.conf"), "include=/etc/other.conf\n");
  write_file(host("/etc/other.conf"), "");
  program("/usr/bin/prog", {"/etc/app.conf"});
  Closure c = close({"/usr/bin/prog"});
  EXPECT_TRUE(c.contains("/etc/app.conf"));
  EXPECT_FALSE(c.contains("/etc/other.conf"));
}

TEST_F(ClosureTest, ScriptsKeepTheirInterpreterAndEnvsProgram) {
  program("/usr/bin/env", {});
  program("/usr/bin/tool", {});
  write_file(host("/usr/bin/run"), "#!/usr/bin/env tool\nsay /etc/motd\n");
  write_file(host("/etc/motd"), "hi");
  fs::permissions(host("/usr/bin/tool"), fs::perms::owner_exec, fs::perm_options::add);
  Closure c = close({"/usr/bin/run"});
  EXPECT_EQ(c.reached.at("/usr/bin/env").kind, EdgeKind::Interpreter);
  EXPECT_EQ(c.reached.at("/usr/bin/tool").kind, EdgeKind::Shebang);
  EXPECT_EQ(c.reached.at("/etc/motd").kind, EdgeKind::PathRef);  // scripts are scanned
  const auto& deps = c.loader_deps.at("/usr/bin/run");
  EXPECT_NE(std::find(deps.begin(), deps.end(), "/usr/bin/tool"), deps.end());
}

TEST_F(ClosureTest, StorePathsAreKeptWhole) {
  const std::string store = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-dep";
  write_file(host(store + "/share/x"), "x");
  write_file(host(store + "/lib/y"), "y");
  write_file(host("/usr/bin/wrapper"), "#!/bin/sh\nexec " + store + "/bin/thing \"$@\"\n");
  compile_c("int main(void) { return 0; }", host("/usr/bin/dash"), "");
  make_symlink(host("/bin"), "usr/bin");
  make_symlink(host("/usr/bin/sh"), "dash");
  Closure c = close({"/usr/bin/wrapper"});
  EXPECT_EQ(c.reached.at(store).kind, EdgeKind::StoreRef);
  EXPECT_TRUE(c.contains(store + "/share/x"));
  EXPECT_TRUE(c.contains(store + "/lib/y"));
}

TEST_F(ClosureTest, PackagesOfProgramsAreExpandedButNotLibraryPackages) {
  program("/usr/bin/tool", {});
  write_file(host("/usr/share/tool/module.dat"), "m");
  write_file(host("/usr/share/tool-data/x"), "x");
  write_file(host("/usr/lib/libx/extra.dat"), "e");
  DpkgDb db;
  db.present = true;
  auto add = [&db](std::string name, std::string section, std::vector<std::string> files,
                   std::vector<std::vector<std::string>> depends = {}) {
    DpkgPackage p;
    p.name = name;
    p.section = std::move(section);
    p.source = name;
    p.files = files;
    p.depends = std::move(depends);
    for (const auto& f : files) db.owner[f] = name;
    db.packages[name] = std::move(p);
  };
  add("tool", "utils", {"/usr/bin/tool", "/usr/share/tool/module.dat"},
      {{"tool-data"}, {"libx1"}, {"dpkg"}});
  add("tool-data", "misc", {"/usr/share/tool-data/x"});
  add("libx1", "libs", {"/usr/lib/libx/extra.dat"});
  Closure c = close({"/usr/bin/tool"}, std::move(db));
  EXPECT_EQ(c.reached.at("/usr/share/tool/module.dat").kind, EdgeKind::Package);
  EXPECT_EQ(c.reached.at("/usr/share/tool-data/x").detail, "tool depends on tool-data");
  EXPECT_FALSE(c.contains("/usr/lib/libx/extra.dat"));  // the loader decides for libraries
}

TEST_F(ClosureTest, NoEntriesMeansEverything) {
  Closure c = close({});
  EXPECT_TRUE(c.everything);
  EXPECT_TRUE(c.contains("/anything/at/all"));
}

TEST_F(ClosureTest, MissingEntryIsAWarning) {
  Closure c = close({"/usr/bin/nothing"});
  ASSERT_FALSE(c.warnings.empty());
  EXPECT_EQ(c.warnings.front(), "/usr/bin/nothing: entry does not exist");
}

TEST_F(ClosureTest, DeclaredDlopenDependencyIsKept) {
  compile_c("int p(void) { return 0; }", host("/usr/lib/x86_64-linux-gnu/libplug.so.1"),
            "-shared -fPIC -Wl,-soname,libplug.so.1");
  compile_c(R"(
#define JSON "[{\"soname\":[\"libplug.so.1\"],\"priority\":\"recommended\"}]"
struct note { unsigned namesz, descsz, type; char name[4]; char desc[(sizeof(JSON) + 3) & ~3]; };
__attribute__((used, section(".note.dlopen"), aligned(4)))
static const struct note n = { 4, sizeof(JSON), 0x407c0c0a, "FDO", JSON };
int main(void) { return 0; }
)",
            host("/usr/bin/prog"), "");
  Closure c = close({"/usr/bin/prog"});
  ASSERT_TRUE(c.contains("/usr/lib/x86_64-linux-gnu/libplug.so.1"));
  EXPECT_EQ(c.reached.at("/usr/lib/x86_64-linux-gnu/libplug.so.1").kind, EdgeKind::Dlopen);
}

TEST_F(ClosureTest, ChainLeadsBackToTheEntry) {
  compile_c("int foo(void) { return 1; }", host("/usr/lib/x86_64-linux-gnu/libfoo.so.1"),
            "-shared -fPIC -Wl,-soname,libfoo.so.1");
  program("/usr/bin/prog", {}, test::quoted(host("/usr/lib/x86_64-linux-gnu/libfoo.so.1")));
  Closure c = close({"/usr/bin/prog"});
  auto chain = c.chain("/usr/lib/x86_64-linux-gnu/libfoo.so.1");
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0].second.kind, EdgeKind::Needed);
  EXPECT_EQ(chain[1].first, "/usr/bin/prog");
  EXPECT_EQ(chain[1].second.kind, EdgeKind::Entry);
}

TEST(SharedHierarchy, GenericDirectoriesAreShared) {
  EXPECT_TRUE(is_shared_hierarchy("/usr/lib"));
  EXPECT_TRUE(is_shared_hierarchy("/usr/lib/x86_64-linux-gnu"));
  EXPECT_TRUE(is_shared_hierarchy("/etc"));
  EXPECT_FALSE(is_shared_hierarchy("/usr/lib/x86_64-linux-gnu/gconv"));
  EXPECT_FALSE(is_shared_hierarchy("/usr/share/zoneinfo"));
}

}  // namespace
}  // namespace elfprune
