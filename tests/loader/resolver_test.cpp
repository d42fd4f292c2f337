// Each test lays a tiny glibc (or musl) root, compiles the scenario's
// objects into it, and checks what the resolver says and why. The
// end-to-end tests compare the same rules with the real loader.
#include "loader/resolver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "test_support.hpp"

namespace elfprune {
namespace {

namespace fs = std::filesystem;
using test::compile_c;
using test::make_symlink;
using test::TempDir;
using test::write_file;

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override { test::make_glibc_root(root_dir()); }

  fs::path root_dir() const { return tmp_.path(); }
  fs::path host(std::string_view inside) const { return tmp_ / inside; }

  // A shared library at `inside` whose SONAME is its file name, linked
  // against `deps` (inside paths of libraries built before).
  void lib(std::string_view inside, std::vector<std::string> deps = {}, std::string flags = "") {
    const std::string soname = fs::path(inside).filename().string();
    // --no-as-needed: the scenario's DT_NEEDED entries matter, not symbol use.
    std::string cmd = "-shared -fPIC -Wl,--no-as-needed -Wl,-soname," + soname + " " + flags;
    for (const auto& d : deps) cmd += " '" + host(d).string() + "'";
    compile_c("int f_" + std::to_string(counter_++) + "(void) { return 0; }", host(inside), cmd);
  }

  void exe(std::string_view inside, std::vector<std::string> deps = {}, std::string flags = "") {
    std::string cmd = "-Wl,--no-as-needed " + flags;
    for (const auto& d : deps) cmd += " '" + host(d).string() + "'";
    compile_c("int main(void) { return 0; }", host(inside), cmd);
  }

  Resolution resolve(const std::string& file, ResolveOptions options = {}) {
    Root root(root_dir());
    if (options.loader.hwcaps == HwcapsLevel::Host) options.loader.hwcaps = HwcapsLevel::Baseline;
    Resolver resolver(root, options);
    auto res = resolver.resolve(file);
    EXPECT_TRUE(res.ok()) << res.error().path << ": " << res.error().message;
    return res.ok() ? *res : Resolution{};
  }

  static const LoadedLibrary* find(const Resolution& r, std::string_view name) {
    for (const auto& l : r.libraries) {
      if (l.name == name) return &l;
    }
    return nullptr;
  }

  static const MissingLibrary* missing(const Resolution& r, std::string_view name) {
    for (const auto& m : r.missing) {
      if (m.name == name) return &m;
    }
    return nullptr;
  }

  TempDir tmp_;
  int counter_ = 0;
};

TEST_F(ResolverTest, LibcComesFromDefaultDirectoriesAndInterpreterIsNotListed) {
  exe("/usr/bin/prog");
  Resolution r = resolve("/usr/bin/prog");
  EXPECT_EQ(r.interpreter, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_EQ(r.interpreter_realpath, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
  const LoadedLibrary* libc = find(r, "libc.so.6");
  ASSERT_NE(libc, nullptr);
  EXPECT_EQ(libc->path, "/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(libc->realpath, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(libc->via, Via::Default);
  EXPECT_EQ(r.libraries.size(), 1u);  // ld-linux-x86-64.so.2 needed by libc is the interpreter
  EXPECT_TRUE(r.missing.empty());
}

TEST_F(ResolverTest, RunpathFindsDirectDependency) {
  lib("/opt/a/liba.so");
  exe("/usr/bin/prog", {"/opt/a/liba.so"}, "-Wl,--enable-new-dtags -Wl,-rpath,/opt/a");
  Resolution r = resolve("/usr/bin/prog");
  const LoadedLibrary* a = find(r, "liba.so");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->path, "/opt/a/liba.so");
  EXPECT_EQ(a->via, Via::Runpath);
  EXPECT_EQ(a->needed_by, "/usr/bin/prog");
}

TEST_F(ResolverTest, RunpathIsNotInherited) {
  lib("/opt/a/libb.so");
  lib("/opt/a/liba.so", {"/opt/a/libb.so"});
  exe("/usr/bin/prog", {"/opt/a/liba.so"}, "-Wl,--enable-new-dtags -Wl,-rpath,/opt/a");
  Resolution r = resolve("/usr/bin/prog");
  ASSERT_NE(find(r, "liba.so"), nullptr);
  const MissingLibrary* b = missing(r, "libb.so");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->needed_by, "/opt/a/liba.so");
  EXPECT_EQ(b->reason, "not found");
  // Every default directory was tried, the runpath directory was not.
  EXPECT_NE(std::find(b->searched.begin(), b->searched.end(), "/usr/lib/libb.so"),
            b->searched.end());
  EXPECT_EQ(std::find(b->searched.begin(), b->searched.end(), "/opt/a/libb.so"), b->searched.end());
}

TEST_F(ResolverTest, RpathIsInheritedThroughTheLoaderChain) {
  lib("/opt/a/libc2.so");
  lib("/opt/a/libb.so", {"/opt/a/libc2.so"});
  lib("/opt/a/liba.so", {"/opt/a/libb.so"});
  exe("/usr/bin/prog", {"/opt/a/liba.so"}, "-Wl,--disable-new-dtags -Wl,-rpath,/opt/a");
  Resolution r = resolve("/usr/bin/prog");
  for (const char* name : {"liba.so", "libb.so", "libc2.so"}) {
    const LoadedLibrary* l = find(r, name);
    ASSERT_NE(l, nullptr) << name;
    EXPECT_EQ(l->via, Via::Rpath) << name;
  }
  EXPECT_EQ(find(r, "libc2.so")->needed_by, "/opt/a/libb.so");
}

TEST_F(ResolverTest, RunpathHidesOwnRpathButTheChainWalksOn) {
  lib("/opt/p/libdeep.so");
  lib("/opt/ignored/libhidden.so");
  lib("/opt/m/libleaf.so", {"/opt/p/libdeep.so", "/opt/ignored/libhidden.so"});
  // libmid has both tags: its RPATH is ignored for everything.
  lib("/opt/p/libmid.so", {"/opt/m/libleaf.so"},
      "-Wl,--disable-new-dtags -Wl,-rpath,/opt/ignored -Wl,-f,/opt/m");
  test::retag_dynamic(host("/opt/p/libmid.so"), 0x7ffffffd /* DT_AUXILIARY */, 29 /* DT_RUNPATH */);
  exe("/usr/bin/prog", {"/opt/p/libmid.so"}, "-Wl,--disable-new-dtags -Wl,-rpath,/opt/p");
  Resolution r = resolve("/usr/bin/prog");
  ASSERT_NE(find(r, "libmid.so"), nullptr);
  ASSERT_NE(find(r, "libleaf.so"), nullptr);
  EXPECT_EQ(find(r, "libleaf.so")->via, Via::Runpath);
  const LoadedLibrary* deep = find(r, "libdeep.so");
  ASSERT_NE(deep, nullptr);
  EXPECT_EQ(deep->via, Via::Rpath);  // prog's RPATH, reached past libmid
  EXPECT_NE(missing(r, "libhidden.so"), nullptr);
}

TEST_F(ResolverTest, NodeflibSkipsDefaultDirectories) {
  lib("/usr/lib/libx.so");
  exe("/usr/bin/prog", {"/usr/lib/libx.so"},
      "-Wl,-z,nodefaultlib -Wl,--enable-new-dtags -Wl,-rpath,/usr/lib/x86_64-linux-gnu");
  Resolution r = resolve("/usr/bin/prog");
  ASSERT_NE(find(r, "libc.so.6"), nullptr);
  EXPECT_EQ(find(r, "libc.so.6")->via, Via::Runpath);
  const MissingLibrary* x = missing(r, "libx.so");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(std::find(x->searched.begin(), x->searched.end(), "/usr/lib/libx.so"),
            x->searched.end());
}

TEST_F(ResolverTest, OriginOfALibraryIsTheDirectoryItWasOpenedUnder) {
  lib("/usr/lib/private/libpriv.so");
  lib("/opt/foo/lib/libfoo.so.1", {"/usr/lib/private/libpriv.so"},
      "-Wl,--enable-new-dtags -Wl,-rpath,'$ORIGIN/private'");
  exe("/usr/bin/prog", {"/opt/foo/lib/libfoo.so.1"});
  make_symlink(host("/usr/lib/libfoo.so.1"), "/opt/foo/lib/libfoo.so.1");
  Resolution r = resolve("/usr/bin/prog");
  const LoadedLibrary* foo = find(r, "libfoo.so.1");
  ASSERT_NE(foo, nullptr);
  EXPECT_EQ(foo->path, "/lib/libfoo.so.1");  // /lib comes before /usr/lib
  EXPECT_EQ(foo->realpath, "/opt/foo/lib/libfoo.so.1");
  const LoadedLibrary* priv = find(r, "libpriv.so");
  ASSERT_NE(priv, nullptr);
  EXPECT_EQ(priv->path, "/lib/private/libpriv.so");
  EXPECT_EQ(priv->via, Via::Runpath);
}

TEST_F(ResolverTest, OriginOfTheExecutableFollowsSymlinks) {
  lib("/opt/app/lib/libapp.so");
  exe("/opt/app/bin/prog", {"/opt/app/lib/libapp.so"},
      "-Wl,--enable-new-dtags -Wl,-rpath,'${ORIGIN}/../lib'");
  make_symlink(host("/usr/bin/prog"), "../../opt/app/bin/prog");
  Resolution r = resolve("/usr/bin/prog");
  const LoadedLibrary* app = find(r, "libapp.so");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->path, "/opt/app/bin/../lib/libapp.so");
  EXPECT_EQ(app->realpath, "/opt/app/lib/libapp.so");
}

TEST_F(ResolverTest, TextFileEarlierInThePathStopsTheSearch) {
  lib("/opt/b/libq.so");
  write_file(host("/opt/a/libq.so"), "INPUT(-lq)\n");
  exe("/usr/bin/prog", {"/opt/b/libq.so"}, "-Wl,--enable-new-dtags -Wl,-rpath,/opt/a:/opt/b");
  Resolution r = resolve("/usr/bin/prog");
  const MissingLibrary* q = missing(r, "libq.so");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->reason, "/opt/a/libq.so: not an ELF file");
  EXPECT_EQ(find(r, "libq.so"), nullptr);
}

TEST_F(ResolverTest, WrongClassIsSkipped) {
  lib("/opt/b/libq.so");
  // Same bytes, but claiming ELFCLASS32: glibc skips it and searches on.
  std::ifstream in(host("/opt/b/libq.so"), std::ios::binary);
  std::string image((std::istreambuf_iterator<char>(in)), {});
  image[4] = 1;
  write_file(host("/opt/a/libq.so"), image);
  exe("/usr/bin/prog", {"/opt/b/libq.so"}, "-Wl,--enable-new-dtags -Wl,-rpath,/opt/a:/opt/b");
  Resolution r = resolve("/usr/bin/prog");
  const LoadedLibrary* q = find(r, "libq.so");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->path, "/opt/b/libq.so");
}

TEST_F(ResolverTest, SonameMatchesAnAlreadyLoadedLibrary) {
  lib("/opt/a/libs.so.1");
  make_symlink(host("/opt/a/libs.so"), "libs.so.1");
  lib("/opt/a/libother.so", {"/opt/a/libs.so.1"});
  // prog needs "libs.so" (a stub with that SONAME stands in at link time):
  // the file found has SONAME libs.so.1, which libother then matches.
  compile_c("int s(void) { return 0; }", host("/stub/libs.so"),
            "-shared -fPIC -Wl,-soname,libs.so");
  exe("/usr/bin/prog", {"/stub/libs.so", "/opt/a/libother.so"},
      "-Wl,--no-as-needed -Wl,--enable-new-dtags -Wl,-rpath,/opt/a");
  std::filesystem::remove_all(host("/stub"));
  Resolution r = resolve("/usr/bin/prog");
  ASSERT_NE(find(r, "libs.so"), nullptr);
  EXPECT_EQ(find(r, "libs.so")->via, Via::Runpath);
  // libother's edge matched the loaded object: listed, not loaded again.
  const LoadedLibrary* again = find(r, "libs.so.1");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->via, Via::Loaded);
  EXPECT_EQ(again->path, "/opt/a/libs.so");
  EXPECT_EQ(again->needed_by, "/opt/a/libother.so");
  EXPECT_TRUE(r.missing.empty());
}

TEST_F(ResolverTest, DependencyCycleTerminates) {
  // liba and libb need each other: build libb against a stub liba first.
  lib("/opt/a/liba.so");
  lib("/opt/a/libb.so", {"/opt/a/liba.so"});
  lib("/opt/a/liba.so", {"/opt/a/libb.so"}, "-Wl,--disable-new-dtags -Wl,-rpath,/opt/a");
  exe("/usr/bin/prog", {"/opt/a/liba.so"}, "-Wl,--disable-new-dtags -Wl,-rpath,/opt/a");
  Resolution r = resolve("/usr/bin/prog");
  ASSERT_NE(find(r, "liba.so"), nullptr);
  ASSERT_NE(find(r, "libb.so"), nullptr);
  std::set<std::string> objects;
  bool back_edge = false;
  for (const auto& l : r.libraries) {
    objects.insert(l.realpath);
    back_edge |= l.name == "liba.so" && l.needed_by == "/opt/a/libb.so" && l.via == Via::Loaded;
  }
  EXPECT_EQ(objects.size(), 3u);  // liba, libb, libc
  EXPECT_TRUE(back_edge);
}

TEST_F(ResolverTest, LdLibraryPathComesBeforeRunpath) {
  lib("/opt/env/libe.so");
  lib("/opt/run/libe.so");
  exe("/usr/bin/prog", {"/opt/run/libe.so"}, "-Wl,--enable-new-dtags -Wl,-rpath,/opt/run");
  ResolveOptions opts;
  opts.ld_library_path = "/opt/env";
  Resolution r = resolve("/usr/bin/prog", opts);
  const LoadedLibrary* e = find(r, "libe.so");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->path, "/opt/env/libe.so");
  EXPECT_EQ(e->via, Via::LdLibraryPath);
}

TEST_F(ResolverTest, GlibcHwcapsSubdirectoryWinsWhenTheLevelAllows) {
  lib("/opt/h/libhw.so");
  lib("/opt/h/glibc-hwcaps/x86-64-v2/libhw.so");
  exe("/usr/bin/prog", {"/opt/h/libhw.so"}, "-Wl,--enable-new-dtags -Wl,-rpath,/opt/h");
  ResolveOptions v2;
  v2.loader.hwcaps = HwcapsLevel::V2;
  EXPECT_EQ(find(resolve("/usr/bin/prog", v2), "libhw.so")->path,
            "/opt/h/glibc-hwcaps/x86-64-v2/libhw.so");
  ResolveOptions base;
  base.loader.hwcaps = HwcapsLevel::Baseline;
  EXPECT_EQ(find(resolve("/usr/bin/prog", base), "libhw.so")->path, "/opt/h/libhw.so");
}

TEST_F(ResolverTest, NeededNameWithSlashIsOpenedAsWritten) {
  lib("/sub/libslash.so");
  // Link against the library by a relative path without a SONAME.
  compile_c("int s(void) { return 0; }", host("/sub/libnoname.so"), "-shared -fPIC");
  const std::string cmd = "cd '" + root_dir().string() +
                          "' && mkdir -p usr/bin && cc -Wl,--no-as-needed -o usr/bin/prog -x c - "
                          "-x none sub/libnoname.so <<'EOF'\n"
                          "int main(void) { return 0; }\nEOF";
  ASSERT_EQ(test::run_command(cmd).status, 0);
  Resolution r = resolve("/usr/bin/prog");
  const LoadedLibrary* s = find(r, "sub/libnoname.so");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->path, "/sub/libnoname.so");
  EXPECT_EQ(s->via, Via::Direct);
}

TEST_F(ResolverTest, LdSoCacheIsUsed) {
  lib("/opt/c/libcached.so");
  exe("/usr/bin/prog", {"/opt/c/libcached.so"});
  write_file(host("/etc/ld.so.conf"), "/opt/c\n");
  ASSERT_EQ(test::run_command("/sbin/ldconfig -r '" + root_dir().string() + "'").status, 0);
  Resolution r = resolve("/usr/bin/prog");
  const LoadedLibrary* c = find(r, "libcached.so");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->path, "/opt/c/libcached.so");
  EXPECT_EQ(c->via, Via::Cache);
}

TEST_F(ResolverTest, MissingInterpreterIsReported) {
  exe("/usr/bin/prog", {}, "-Wl,--dynamic-linker=/lib/ld-nowhere.so.1");
  Resolution r = resolve("/usr/bin/prog");
  const MissingLibrary* m = missing(r, "/lib/ld-nowhere.so.1");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->reason, "interpreter not found");
}

TEST_F(ResolverTest, SharedLibraryGetsTheRootsLoader) {
  lib("/opt/a/liba.so");
  Resolution r = resolve("/opt/a/liba.so");
  EXPECT_TRUE(r.interpreter_implied);
  EXPECT_EQ(r.interpreter, "/lib64/ld-linux-x86-64.so.2");
  ASSERT_NE(find(r, "libc.so.6"), nullptr);
}

TEST_F(ResolverTest, ErrorsForNonElfAndStaticFiles) {
  write_file(host("/usr/bin/script"), "#!/bin/sh\n");
  compile_c("int main(void) { return 0; }", host("/usr/bin/static"), "-static");
  Root root(root_dir());
  Resolver resolver(root, {});
  auto a = resolver.resolve("/usr/bin/script");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().path, "/usr/bin/script");
  EXPECT_EQ(a.error().message, "not an ELF file");
  auto b = resolver.resolve("/usr/bin/static");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message, "not a dynamic ELF object (statically linked?)");
  EXPECT_FALSE(resolver.resolve("/no/such").ok());
}

TEST(ResolverMusl, SystemPathFileAndReservedNames) {
  if (!fs::exists("/usr/lib/x86_64-linux-musl/libc.so") ||
      test::run_command("command -v musl-gcc").status != 0) {
    GTEST_FAIL() << "musl-tools is not installed (scripts/setup.sh installs it)";
  }
  TempDir tmp;
  test::copy_file("/usr/lib/x86_64-linux-musl/libc.so", tmp / "lib/ld-musl-x86_64.so.1");
  write_file(tmp / "etc/ld-musl-x86_64.path", "/opt/m\n\n/usr/lib\n");
  fs::create_directories(tmp / "opt/m");
  fs::create_directories(tmp / "usr/bin");
  ASSERT_EQ(test::run_command("musl-gcc -shared -fPIC -Wl,-soname,libm1.so -o '" +
                              (tmp / "opt/m/libm1.so").string() +
                              "' -x c - <<'EOF'\n"
                              "int m1(void) { return 1; }\nEOF")
                .status,
            0);
  ASSERT_EQ(test::run_command("musl-gcc -o '" + (tmp / "usr/bin/prog").string() +
                              "' -x c - -x none '" + (tmp / "opt/m/libm1.so").string() +
                              "' -lm <<'EOF'\n"
                              "int m1(void); int main(void) { return m1(); }\nEOF")
                .status,
            0);
  Root root(tmp.path());
  Resolver resolver(root, {});
  auto r = resolver.resolve("/usr/bin/prog");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->flavor, LoaderFlavor::Musl);
  ASSERT_EQ(r->libraries.size(), 1u);  // libc.so is musl itself
  EXPECT_EQ(r->libraries[0].path, "/opt/m/libm1.so");
  EXPECT_EQ(r->libraries[0].via, Via::Default);
  EXPECT_TRUE(r->missing.empty());
}

}  // namespace
}  // namespace elfprune
