// `prune`, `why` and `rules` through the same entry point as main().
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli.hpp"
#include "test_support.hpp"
#include "write/in_place.hpp"

namespace elfprune {
namespace {

namespace fs = std::filesystem;

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

class PruneCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (tmp_.path() / "root").string();
    test::make_glibc_root(root_);
    test::compile_c("int main(void) { return 0; }", tmp_ / "root/usr/bin/prog", "");
    test::write_file(tmp_ / "root/usr/share/doc/prog/NEWS", "news");
    test::write_file(tmp_ / "root/opt/other", "other");
  }
  test::TempDir tmp_;
  std::string root_;
};

TEST_F(PruneCommandTest, NeedsExactlyOneMode) {
  EXPECT_EQ(run_tool({"prune", root_}).status, 2);
  EXPECT_EQ(run_tool({"prune", root_, "--dry-run", "--in-place"}).status, 2);
}

TEST_F(PruneCommandTest, JobsIsAtLeastOne) {
  Outcome o = run_tool({"prune", root_, "--dry-run", "--jobs", "0"});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("--jobs"), std::string::npos) << o.err;
  o = run_tool({"prune", root_, "--dry-run", "-j", "1", "--entry", "/usr/bin/prog"});
  EXPECT_EQ(o.status, 0) << o.err;
}

TEST_F(PruneCommandTest, EachFlagTakesOneValueSoRootIsNotSwallowed) {
  Outcome o = run_tool({"prune", "--entry", "/usr/bin/prog", "--entry", "/usr/bin/prog", root_,
                        "--dry-run", "--json", "--hwcaps", "baseline"});
  ASSERT_EQ(o.status, 0) << o.err;
  auto doc = nlohmann::json::parse(o.out);
  EXPECT_EQ(doc["entries"].size(), 2u);
}

TEST_F(PruneCommandTest, MissingSysrootIsBadUsage) {
  Outcome o = run_tool({"prune", root_, "--sysroot", "/no/such/dir", "--dry-run"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "elfprune: error: /no/such/dir: --sysroot: no such file or directory\n");
}

TEST_F(PruneCommandTest, BadGlobIsBadUsageNamingOptionAndPattern) {
  const std::string out = (tmp_.path() / "out").string();
  Outcome o =
      run_tool({"prune", root_, "--out", out, "--keep", "/usr/[[:digit:]]", "--keep", "[a"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err,
            "elfprune: error: --keep '[a': '[' without a closing ']' (a literal '[' is written "
            "'\\[')\n");
  EXPECT_FALSE(fs::exists(out));  // refused before anything is written

  o = run_tool({"prune", root_, "--dry-run", "--drop", "/usr/[[:digits:]]"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err.rfind("elfprune: error: --drop '/usr/[[:digits:]]': unknown character class "
                        "'[:digits:]'",
                        0),
            0u)
      << o.err;

  o = run_tool({"why", root_, "/opt/other", "--keep", "/opt/[z-a]"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "elfprune: error: --keep '/opt/[z-a]': reversed range 'z-a'\n");
}

TEST_F(PruneCommandTest, KeepWithAClassShieldsFromTheRules) {
  Outcome o = run_tool({"why", root_, "/usr/share/doc/prog/NEWS", "--keep",
                        "/usr/share/doc/[[:lower:]]*/[[:upper:]][[:upper:]]*", "--json"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(nlohmann::json::parse(o.out)["keep"].get<bool>()) << o.out;
}

TEST_F(PruneCommandTest, OutInsideRootIsLeftOutOfTheInventory) {
  Outcome o = run_tool({"prune", root_, "--out", root_ + "/x", "--entry", "/usr/bin/prog"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(fs::exists(fs::path(root_) / "x/usr/bin/prog"));
  EXPECT_FALSE(fs::exists(fs::path(root_) / "x/x"));
  Outcome same = run_tool({"prune", root_, "--out", root_, "--entry", "/usr/bin/prog"});
  EXPECT_EQ(same.status, 2);
  EXPECT_NE(same.err.find("--out must not be or contain the root"), std::string::npos) << same.err;
}

TEST_F(PruneCommandTest, InPlaceOnATreeAnotherRunHoldsFailsWithStatusOne) {
  auto reading = lock_tree(Root(root_), "/", /*exclusive=*/false);
  ASSERT_TRUE(reading.ok() && reading->held());
  Outcome o = run_tool({"prune", root_, "--in-place", "--entry", "/usr/bin/prog"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(
      o.err.rfind("elfprune: error: /: another elfprune run is reading or pruning this tree", 0),
      0u)
      << o.err;
  EXPECT_TRUE(fs::exists(fs::path(root_) / "opt/other"));
}

TEST_F(PruneCommandTest, DryRunJsonAndReportFile) {
  const std::string report = (tmp_.path() / "report.json").string();
  Outcome o = run_tool({"prune", root_, "--entry", "/usr/bin/prog", "--dry-run", "--json",
                        "--report", report, "--hwcaps", "baseline"});
  ASSERT_EQ(o.status, 0) << o.err;
  auto doc = nlohmann::json::parse(o.out);
  EXPECT_EQ(doc["mode"], "dry-run");
  EXPECT_TRUE(doc["before"]["bytes"].get<std::uint64_t>() >
              doc["after"]["bytes"].get<std::uint64_t>());
  bool other_removed = false;
  for (const auto& r : doc["removed"]) other_removed |= r["path"] == "/opt/other";
  EXPECT_TRUE(other_removed);
  EXPECT_TRUE(fs::exists(tmp_ / "root/opt/other"));
  std::ifstream f(report);
  auto file_doc = nlohmann::json::parse(f);
  EXPECT_EQ(file_doc["removed"], doc["removed"]);
}

TEST_F(PruneCommandTest, TimingsNamePassesOnStderrOnly) {
  Outcome o = run_tool({"prune", root_, "--entry", "/usr/bin/prog", "--dry-run", "--json",
                        "--timings", "--hwcaps", "baseline"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(nlohmann::json::accept(o.out)) << o.out;  // stdout stays pure JSON
  for (const char* pass :
       {"inventory", "close", "classify", "plan", "verify", "report", "all passes"}) {
    EXPECT_NE(o.err.find(fmt::format("elfprune: {} ", pass)), std::string::npos) << o.err;
  }
  EXPECT_EQ(run_tool({"prune", root_, "--dry-run"}).err, "");  // not without the flag
}

TEST_F(PruneCommandTest, WhyNamesTheChainOrTheRule) {
  Outcome kept = run_tool(
      {"why", root_, "/usr/lib/x86_64-linux-gnu/libc.so.6", "--entry", "/usr/bin/prog", "--json"});
  ASSERT_EQ(kept.status, 0) << kept.err;
  auto k = nlohmann::json::parse(kept.out);
  EXPECT_TRUE(k["keep"].get<bool>());
  EXPECT_EQ(k["chain"].back()["path"], "/usr/bin/prog");
  EXPECT_EQ(k["chain"].back()["edge"], "entry");

  Outcome doc = run_tool({"why", root_, "/usr/share/doc/prog/NEWS", "--json"});
  ASSERT_EQ(doc.status, 0) << doc.err;
  auto d = nlohmann::json::parse(doc.out);
  EXPECT_FALSE(d["keep"].get<bool>());
  EXPECT_EQ(d["rule"], "docs");

  Outcome text = run_tool({"why", root_, "/opt/other", "--entry", "/usr/bin/prog"});
  EXPECT_EQ(text.out, "/opt/other: removed (not needed by the entries)\n");
}

TEST_F(PruneCommandTest, WhyOutsideTheTree) {
  Outcome o = run_tool({"why", root_, "/no/such/file"});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("not in the tree being pruned"), std::string::npos);
}

TEST(RulesCommand, ListsEveryRuleOnItsOwnLine) {
  Outcome o = run_tool({"rules"});
  EXPECT_EQ(o.status, 0);
  for (const char* id : {"headers", "static-libs", "docs", "man", "locales", "icu-data", "python",
                         "node-build", "source-trees"}) {
    EXPECT_NE(o.out.find(std::string("\n") + id + " "), std::string::npos) << id;
  }
  auto doc = nlohmann::json::parse(run_tool({"rules", "--json"}).out);
  EXPECT_GE(doc.size(), 10u);
  EXPECT_TRUE(doc[0].contains("id"));
}

}  // namespace
}  // namespace elfprune
