// The whole tool, in-process, through the same entry point as main().
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli.hpp"
#include "test_support.hpp"

namespace elfprune {
namespace {

struct Outcome {
  int status;
  std::string out;
  std::string err;
};

Outcome run_tool(std::vector<std::string> args) {
  std::ostringstream out, err;
  int status = run(args, out, err);
  return {status, out.str(), err.str()};
}

TEST(Cli, HelpExitsZeroAndNamesDeps) {
  Outcome o = run_tool({"--help"});
  EXPECT_EQ(o.status, 0);
  EXPECT_NE(o.out.find("deps"), std::string::npos);
}

TEST(Cli, NoSubcommandIsBadUsage) {
  Outcome o = run_tool({});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err.rfind("elfprune: error: ", 0), 0u) << o.err;
}

TEST(Cli, DepsNeedsAFile) {
  EXPECT_EQ(run_tool({"deps"}).status, 2);
}

TEST(Cli, TraceOptionsTakeOneValueEach) {
  // --env must not swallow the ROOT after it: the error is about ROOT.
  Outcome o =
      run_tool({"trace", "--env", "A=1", "/nonexistent-root", "-o", "/tmp/x", "--", "true"});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("ROOT: Directory does not exist: /nonexistent-root"), std::string::npos)
      << o.err;
  Outcome bad = run_tool({"trace", "--env", "A", "/", "-o", "/tmp/x", "--", "true"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--env: expected K=V"), std::string::npos) << bad.err;
  Outcome no_command = run_tool({"trace", "/", "-o", "/tmp/x"});
  EXPECT_EQ(no_command.status, 2);
  EXPECT_NE(no_command.err.find("CMD is required"), std::string::npos) << no_command.err;
}

TEST(Cli, DepsRootMustExist) {
  EXPECT_EQ(run_tool({"deps", "--root", "/no/such/root", "/bin/sh"}).status, 2);
}

TEST(Cli, DepsBadHwcapsLevel) {
  Outcome o = run_tool({"deps", "--hwcaps", "v9", "/bin/sh"});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("--hwcaps"), std::string::npos);
}

TEST(Cli, DepsOnAMissingFileNamesIt) {
  test::TempDir dir;
  Outcome o = run_tool({"deps", "--root", dir.path().string(), "/usr/bin/nothing"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "elfprune: error: /usr/bin/nothing: no such file or directory\n");
}

TEST(Cli, DepsJsonAndExitOneWhenALibraryIsMissing) {
  test::TempDir dir;
  test::make_glibc_root(dir.path());
  test::compile_c("int f(void) { return 0; }", dir / "opt/libgone.so",
                  "-shared -fPIC -Wl,-soname,libgone.so");
  test::compile_c("int f(void); int main(void) { return f(); }", dir / "usr/bin/prog",
                  test::quoted(dir / "opt/libgone.so"));
  std::filesystem::remove(dir / "opt/libgone.so");
  Outcome o = run_tool({"deps", "--root", dir.path().string(), "--json", "/usr/bin/prog"});
  EXPECT_EQ(o.status, 1);
  auto doc = nlohmann::json::parse(o.out);
  EXPECT_EQ(doc["objects"][0]["file"], "/usr/bin/prog");
  EXPECT_EQ(doc["objects"][0]["missing"][0]["name"], "libgone.so");
  EXPECT_EQ(doc["objects"][0]["libraries"][0]["name"], "libc.so.6");
  EXPECT_NE(o.err.find("elfprune: error: /usr/bin/prog: libgone.so not found"), std::string::npos);
}

TEST(Cli, DepsCarriesOnPastABadFile) {
  test::TempDir dir;
  test::make_glibc_root(dir.path());
  test::write_file(dir / "usr/bin/script", "#!/bin/sh\n");
  test::compile_c("int main(void) { return 0; }", dir / "usr/bin/prog", "");
  Outcome o = run_tool(
      {"deps", "--root", dir.path().string(), "--json", "/usr/bin/script", "/usr/bin/prog"});
  EXPECT_EQ(o.status, 2);
  auto doc = nlohmann::json::parse(o.out);
  EXPECT_EQ(doc["objects"].size(), 1u);
  EXPECT_EQ(doc["errors"][0]["path"], "/usr/bin/script");
  EXPECT_NE(o.err.find("elfprune: error: /usr/bin/script: not an ELF file"), std::string::npos);
}

}  // namespace

// docs/rules.md shows the catalogue as `elfprune rules` prints it: every
// line of the output, in order, in its fenced block.
TEST(Cli, RulesDocumentationShowsTheCatalogueAsPrinted) {
  Outcome o = run_tool({"rules"});
  ASSERT_EQ(o.status, 0);
  std::ifstream f(std::string(ELFPRUNE_SOURCE_DIR) + "/docs/rules.md");
  ASSERT_TRUE(f) << "docs/rules.md";
  std::vector<std::string> doc;
  for (std::string line; std::getline(f, line);) doc.push_back(line);
  std::istringstream printed(o.out);
  auto at = doc.begin();
  for (std::string line; std::getline(printed, line);) {
    at = std::find(at, doc.end(), line);
    ASSERT_NE(at, doc.end()) << "docs/rules.md lacks, or has out of order: " << line;
  }
}

}  // namespace elfprune
