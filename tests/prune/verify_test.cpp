#include "prune/verify.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace elfprune {
namespace {

namespace fs = std::filesystem;
using test::compile_c;
using test::make_symlink;
using test::TempDir;
using test::write_file;

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override { test::make_glibc_root(tmp_.path()); }
  fs::path host(std::string_view p) const { return tmp_ / p; }

  // Verify a plan that keeps everything except `removed`, on the view of
  // the root without them (what a dry run does).
  VerifyResult check(const std::vector<std::string>& removed) {
    Root root(tmp_.path());
    auto inv = take_inventory(root, "/");
    EXPECT_TRUE(inv.ok());
    Plan plan;
    auto hidden = std::make_shared<std::unordered_set<std::string>>();
    for (const auto& e : inv->entries) {
      bool gone = std::find(removed.begin(), removed.end(), e.path) != removed.end();
      plan.decisions.push_back(Decision{!gone, "", ""});
      if (gone) hidden->insert(e.path);
    }
    return verify(root, root.without(hidden), *inv, plan, LoaderOptions{HwcapsLevel::Baseline});
  }

  TempDir tmp_;
};

TEST_F(VerifyTest, IntactTreePasses) {
  compile_c("int main(void) { return 0; }", host("/usr/bin/prog"), "");
  VerifyResult r = check({});
  EXPECT_TRUE(r.problems.empty());
  EXPECT_GE(r.elf_checked, 1u);
}

TEST_F(VerifyTest, RemovedLibraryIsAProblem) {
  compile_c("int f(void) { return 0; }", host("/opt/lib/libf.so"),
            "-shared -fPIC -Wl,-soname,libf.so");
  compile_c("int f(void); int main(void) { return f(); }", host("/usr/bin/prog"),
            "-Wl,-rpath,/opt/lib '" + host("/opt/lib/libf.so").string() + "'");
  VerifyResult r = check({"/opt/lib/libf.so"});
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].path, "/usr/bin/prog");
  EXPECT_EQ(r.problems[0].message, "libf.so not found (needed by /usr/bin/prog)");
}

TEST_F(VerifyTest, AnotherLibraryFoundLaterIsAProblem) {
  for (const char* dir : {"/opt/a", "/opt/b"}) {
    compile_c("int f(void) { return 0; }", host(std::string(dir) + "/libf.so"),
              "-shared -fPIC -Wl,-soname,libf.so");
  }
  compile_c(
      "int f(void); int main(void) { return f(); }", host("/usr/bin/prog"),
      "-Wl,--enable-new-dtags -Wl,-rpath,/opt/a:/opt/b '" + host("/opt/a/libf.so").string() + "'");
  VerifyResult r = check({"/opt/a/libf.so"});
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].message, "now loads /opt/b/libf.so, which it did not load before");
}

// The library found instead lacks a symbol the program binds to: the
// loader would refuse it (LD_BIND_NOW) or fail at the call. The problem
// names the symbol and the library that defined it before.
TEST_F(VerifyTest, ASymbolTheOtherLibraryLacksIsAProblem) {
  compile_c("int f(void) { return 0; } int g(void) { return 1; }", host("/opt/a/libf.so"),
            "-shared -fPIC -Wl,-soname,libf.so");
  compile_c("int f(void) { return 0; }", host("/opt/b/libf.so"),
            "-shared -fPIC -Wl,-soname,libf.so");
  compile_c(
      "int f(void); int g(void); int main(void) { return f() + g(); }", host("/usr/bin/prog"),
      "-Wl,--enable-new-dtags -Wl,-rpath,/opt/a:/opt/b '" + host("/opt/a/libf.so").string() + "'");
  VerifyResult r = check({"/opt/a/libf.so"});
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_EQ(r.problems[0].message,
            "undefined symbol: g (needed by /usr/bin/prog); /opt/a/libf.so defined it before");
  EXPECT_EQ(r.problems[1].message, "now loads /opt/b/libf.so, which it did not load before");
  EXPECT_EQ(r.bindings_checked, 1u);
}

// A plan that changes nothing a program loads changes none of its
// bindings: nothing is bound again, and a reference unbound already (a
// plugin without its host) is no problem.
TEST_F(VerifyTest, UnchangedLoadsAreNotBoundAgain) {
  compile_c("int host_fn(void); int f(void) { return host_fn(); }", host("/opt/plugin.so"),
            "-shared -fPIC");
  compile_c("int main(void) { return 0; }", host("/usr/bin/prog"), "");
  VerifyResult r = check({});
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.bindings_checked, 0u);
}

TEST_F(VerifyTest, DanglingSymlinkIsAProblemUnlessItDangledBefore) {
  write_file(host("/data/target"), "x");
  make_symlink(host("/data/link"), "target");
  make_symlink(host("/data/broken"), "nowhere");
  VerifyResult r = check({"/data/target"});
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].path, "/data/link");
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("/data/broken"), std::string::npos);
}

TEST_F(VerifyTest, ScriptInterpreterMustRemain) {
  compile_c("int main(void) { return 0; }", host("/usr/bin/tool"), "");
  write_file(host("/usr/bin/script"), "#!/usr/bin/tool\n");
  VerifyResult r = check({"/usr/bin/tool"});
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].path, "/usr/bin/script");
  EXPECT_EQ(r.problems[0].message, "interpreter /usr/bin/tool is gone");
}

}  // namespace
}  // namespace elfprune
