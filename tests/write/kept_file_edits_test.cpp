// --shrink-rpath and --rewrite-ref through the whole pipeline, on glibc
// roots built at test time, checked with the real loader run chrooted.
#include "write/kept_file_edits.hpp"

#include <gtest/gtest.h>

#include "prune/pipeline.hpp"
#include "test_support.hpp"

namespace elfprune {
namespace {

namespace fs = std::filesystem;
using test::compile_c;
using test::TempDir;
using test::write_file;

constexpr const char* kDlopenNote = R"(
#define JSON "[{\"soname\":[\"libplug.so.1\"],\"priority\":\"recommended\"}]"
struct note { unsigned namesz, descsz, type; char name[4]; char desc[(sizeof(JSON) + 3) & ~3]; };
__attribute__((used, section(".note.dlopen"), aligned(4)))
static const struct note n = { 4, sizeof(JSON), 0x407c0c0a, "FDO", JSON };
)";

class EditsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() / "root";
    test::make_glibc_root(root_);
  }
  fs::path host(const std::string& inside) const { return root_ / inside.substr(1); }
  void lib(const std::string& inside, const std::string& soname, const std::string& body,
           const std::string& extra = "") {
    compile_c(body, host(inside), "-shared -fPIC -Wl,-soname," + soname + " " + extra);
  }
  PruneOptions options(EmitMode mode) {
    PruneOptions o;
    o.root = root_.string();
    o.mode = mode;
    o.shrink_rpath = true;
    o.loader.hwcaps = HwcapsLevel::Baseline;
    return o;
  }
  std::string runpath(const std::string& inside, bool rpath = false) {
    auto info = read_elf(host(inside), inside);
    EXPECT_TRUE(info.ok());
    return (rpath ? info->rpath : info->runpath).value_or("(none)");
  }
  test::CommandResult chrooted(const std::string& command) {
    return test::run_command("env -i PATH=/usr/bin:/bin /usr/sbin/chroot " + test::quoted(root_) +
                             " " + command);
  }
  // prog needs libfoo.so.1 (in /opt/libs) and dlopen()s libplug.so.1 (in
  // /opt/plugins, declared in its .note.dlopen) and libhint.so.1 (in
  // /opt/hinted, declared nowhere: --dlopen says so).
  void build_dlopen_root() {
    lib("/opt/libs/libfoo.so.1", "libfoo.so.1", "const char *foo(void) { return \"foo\"; }");
    lib("/opt/libs-dup/libfoo.so.1", "libfoo.so.1", "const char *foo(void) { return \"dup\"; }");
    lib("/opt/plugins/libplug.so.1", "libplug.so.1", "const char *plug(void) { return \"plug\"; }");
    lib("/opt/hinted/libhint.so.1", "libhint.so.1", "const char *hint(void) { return \"hint\"; }");
    write_file(host("/opt/unused/README"), "nothing to load here");
    compile_c(std::string(kDlopenNote) + R"(
#include <dlfcn.h>
#include <stdio.h>
const char *foo(void);
static const char *call(const char *lib, const char *sym) {
  void *h = dlopen(lib, RTLD_NOW);
  if (!h) return dlerror();
  const char *(*f)(void) = (const char *(*)(void))dlsym(h, sym);
  return f ? f() : "no symbol";
}
int main(void) {
  printf("%s %s %s\n", foo(), call("libplug.so.1", "plug"), call("libhint.so.1", "hint"));
  return 0;
}
)",
              host("/usr/bin/prog"),
              test::quoted(host("/opt/libs/libfoo.so.1")) +
                  " -ldl -Wl,--enable-new-dtags,-rpath,/opt/unused:/opt/libs:/opt/libs-dup:"
                  "/opt/plugins:/opt/hinted:/opt/missing-dir");
  }

  TempDir tmp_;
  fs::path root_;
};

TEST_F(EditsTest, ShrinkKeepsWhatFindsLibrariesAndWhatServesDlopen) {
  build_dlopen_root();
  ASSERT_EQ(chrooted("/usr/bin/prog").output, "foo plug hint\n");
  auto o = options(EmitMode::InPlace);
  o.dlopen_names = {"libhint.so.1"};
  auto ctx = prune(o);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_TRUE((*ctx)->report.problems.empty()) << (*ctx)->report.problems.front();
  EXPECT_TRUE((*ctx)->report.edits_written);
  EXPECT_EQ(runpath("/usr/bin/prog"), "/opt/libs:/opt/plugins:/opt/hinted");
  // The real loader agrees, and the dlopen() calls still find their libraries.
  auto list = chrooted("/lib64/ld-linux-x86-64.so.2 --list /usr/bin/prog");
  EXPECT_NE(list.output.find("libfoo.so.1 => /opt/libs/libfoo.so.1"), std::string::npos)
      << list.output;
  EXPECT_EQ(chrooted("/usr/bin/prog").output, "foo plug hint\n");
}

TEST_F(EditsTest, WithoutTheHintItsDirectoryGoes) {
  build_dlopen_root();
  auto ctx = prune(options(EmitMode::InPlace));
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_EQ(runpath("/usr/bin/prog"), "/opt/libs:/opt/plugins");
  // patchelf's --shrink-rpath would have dropped /opt/plugins too.
  EXPECT_EQ(chrooted("/usr/bin/prog").output.rfind("foo plug ", 0), 0u);
}

TEST_F(EditsTest, InheritedRpathServingADependencyIsKept) {
  // libbar (no RPATH of its own) needs libbaz, found only through the
  // program's DT_RPATH, which glibc also searches for libbar's needs.
  lib("/opt/deep/libbaz.so.1", "libbaz.so.1", "int baz(void) { return 2; }");
  lib("/opt/libs/libbar.so.1", "libbar.so.1", "int baz(void); int bar(void) { return baz() + 1; }",
      test::quoted(host("/opt/deep/libbaz.so.1")));
  compile_c("#include <stdio.h>\nint bar(void);\nint main(void) { printf(\"%d\\n\", bar()); }",
            host("/usr/bin/prog"),
            test::quoted(host("/opt/libs/libbar.so.1")) + " -Wl,-rpath-link," +
                test::quoted(host("/opt/deep")) +
                " -Wl,--disable-new-dtags,-rpath,/opt/nothing:/opt/libs:/opt/deep");
  ASSERT_EQ(runpath("/usr/bin/prog", true), "/opt/nothing:/opt/libs:/opt/deep");
  auto ctx = prune(options(EmitMode::InPlace));
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_TRUE((*ctx)->report.problems.empty()) << (*ctx)->report.problems.front();
  EXPECT_EQ(runpath("/usr/bin/prog", true), "/opt/libs:/opt/deep");
  EXPECT_EQ(chrooted("/usr/bin/prog").output, "3\n");
}

TEST_F(EditsTest, DryRunReportsTheEditAndWritesNothing) {
  build_dlopen_root();
  const std::string before = runpath("/usr/bin/prog");
  auto ctx = prune(options(EmitMode::DryRun));
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  const PruneReport& r = (*ctx)->report;
  ASSERT_EQ(r.edits.size(), 1u);
  EXPECT_EQ(r.edits[0].path, "/usr/bin/prog");
  EXPECT_FALSE(r.edits_written);
  EXPECT_EQ(runpath("/usr/bin/prog"), before);
}

TEST_F(EditsTest, OutTreeIsEditedAndTheRootIsNot) {
  build_dlopen_root();
  auto o = options(EmitMode::Out);
  o.out_dir = (tmp_.path() / "out").string();
  auto ctx = prune(o);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_TRUE((*ctx)->report.problems.empty()) << (*ctx)->report.problems.front();
  auto out = read_elf(tmp_.path() / "out/usr/bin/prog", "/usr/bin/prog");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->runpath, "/opt/libs:/opt/plugins");
  EXPECT_EQ(runpath("/usr/bin/prog"),
            "/opt/unused:/opt/libs:/opt/libs-dup:/opt/plugins:/opt/hinted:/opt/missing-dir");
}

TEST_F(EditsTest, ImpossibleRewriteChangesNothingInPlace) {
  write_file(host("/usr/include/prog.h"), "int x;");  // the headers rule removes it
  write_file(host("/usr/share/prog/blob"), std::string("\0/opt/a/x\0", 10));
  write_file(host("/usr/share/prog/script"), "#!/bin/sh\nexec /opt/a/x\n");
  auto o = options(EmitMode::InPlace);
  o.shrink_rpath = false;
  o.rewrites = {PathRewrite{"/opt/a", "/opt/longer"}};
  auto ctx = prune(o);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  const PruneReport& r = (*ctx)->report;
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].rfind("/usr/share/prog/blob: ", 0), 0u) << r.problems[0];
  EXPECT_TRUE(fs::exists(host("/usr/include/prog.h")));  // nothing removed
  EXPECT_EQ(test::run_command("cat " + test::quoted(host("/usr/share/prog/script"))).output,
            "#!/bin/sh\nexec /opt/a/x\n");  // nothing rewritten
}

class RewriteScriptTest : public EditsTest {
 protected:
  void SetUp() override {
    EditsTest::SetUp();
    // The script's interpreter is a program printing its own name.
    for (const char* v : {"old", "new"}) {
      compile_c(std::string("#include <stdio.h>\nint main(void) { puts(\"") + v + "\"); }",
                host(std::string("/opt/") + v + "/bin/greet"), "");
    }
    write_file(host("/usr/bin/app"), "#!/opt/old/bin/greet\n");
    fs::permissions(host("/usr/bin/app"), fs::perms(0755));
  }
  // In place, /opt/old rewritten to `to`.
  PruneOptions rewrite_to(const std::string& to) {
    auto o = options(EmitMode::InPlace);
    o.shrink_rpath = false;
    o.rewrites = {PathRewrite{"/opt/old", to}};
    return o;
  }
};

TEST_F(RewriteScriptTest, WithEntriesTheNewTargetIsKept) {
  auto o = rewrite_to("/opt/new");
  o.entries = {"/usr/bin/app"};
  auto ctx = prune(o);
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_TRUE((*ctx)->report.problems.empty()) << (*ctx)->report.problems.front();
  EXPECT_TRUE(fs::exists(host("/opt/new/bin/greet")));
  EXPECT_EQ(chrooted("/usr/bin/app").output, "new\n");
}

TEST_F(RewriteScriptTest, MissingNewInterpreterChangesNothing) {
  auto ctx = prune(rewrite_to("/opt/gone"));
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  const auto& problems = (*ctx)->report.problems;
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("/usr/bin/app: its interpreter would be /opt/gone/bin/greet"),
            std::string::npos)
      << problems[0];
  EXPECT_EQ(chrooted("/usr/bin/app").output, "old\n");
}

TEST_F(RewriteScriptTest, RewrittenScriptKeepsItsModeAndRuns) {
  auto ctx = prune(rewrite_to("/opt/new"));
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_TRUE((*ctx)->report.problems.empty()) << (*ctx)->report.problems.front();
  EXPECT_EQ((fs::status(host("/usr/bin/app")).permissions() & fs::perms::all), fs::perms(0755));
  EXPECT_EQ(chrooted("/usr/bin/app").output, "new\n");
}

}  // namespace
}  // namespace elfprune
