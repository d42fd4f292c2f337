#include "prune/plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace elfprune {
namespace {

// Plans are pure functions of an inventory, a closure and rule matches, so
// these tests build the three by hand.
class PlanTest : public ::testing::Test {
 protected:
  void dir(const std::string& path) { add(path, FileType::Directory); }
  void file(const std::string& path, std::uint64_t size = 10) {
    add(path, FileType::Regular, size);
  }
  void add(const std::string& path, FileType type, std::uint64_t size = 0) {
    InventoryEntry e;
    e.path = path;
    e.type = type;
    e.size = size;
    inv_.entries.push_back(e);
  }
  void reach(const std::string& path, EdgeKind kind = EdgeKind::Needed,
             const std::string& from = "/usr/bin/prog") {
    closure_.reached[path] = Reason{kind, kind == EdgeKind::Entry ? "" : from, ""};
  }
  const Decision& decision(const std::string& path) const {
    return plan_.decisions[inv_.index.at(path)];
  }
  void make() { plan_ = make_plan(inv_, closure_, matches_); }

  Inventory inv_{"/"};
  Closure closure_;
  std::unordered_map<std::string, RuleMatch> matches_;
  Plan plan_;
};

TEST_F(PlanTest, UnreachableFilesGoReachableStay) {
  dir("/");
  dir("/usr");
  file("/usr/prog");
  file("/usr/junk");
  reach("/usr/prog", EdgeKind::Entry);
  make();
  EXPECT_TRUE(decision("/usr/prog").keep);
  EXPECT_FALSE(decision("/usr/junk").keep);
  EXPECT_EQ(decision("/usr/junk").reason, "not needed by the entries");
  EXPECT_TRUE(decision("/usr/junk").rule.empty());
}

TEST_F(PlanTest, WhatAnEntryRunsIsNeverRemovedByARule) {
  // `npm start`: --entry /usr/bin/npm, a link into the npm package that the
  // node-package-managers rule matches.
  dir("/");
  add("/usr/bin/npm", FileType::Symlink);
  file("/usr/share/nodejs/npm/bin/npm-cli.js");
  file("/usr/share/nodejs/npm/lib/cli.js");
  file("/usr/share/nodejs/npm/docs/npm.md");
  file("/usr/share/nodejs/npm/docs/npx.md");
  file("/usr/share/nodejs/corepack/x.js");
  closure_.reached["/usr/bin/npm"] =
      Reason{EdgeKind::Symlink, "", "/usr/share/nodejs/npm/bin/npm-cli.js"};
  reach("/usr/share/nodejs/npm/bin/npm-cli.js", EdgeKind::Entry);
  for (const char* p : {"/usr/share/nodejs/npm/lib/cli.js", "/usr/share/nodejs/npm/docs/npm.md",
                        "/usr/share/nodejs/npm/docs/npx.md"}) {
    closure_.reached[p] = Reason{EdgeKind::Package, "/usr/share/nodejs/npm/bin/npm-cli.js",
                                 "package npm owns /usr/share/nodejs/npm/bin/npm-cli.js"};
  }
  reach("/usr/share/nodejs/corepack/x.js", EdgeKind::PathRef);
  const RuleMatch managers{"node-package-managers", "", RuleCondition::Always};
  for (const char* p : {"/usr/bin/npm", "/usr/share/nodejs/npm/bin/npm-cli.js",
                        "/usr/share/nodejs/npm/lib/cli.js", "/usr/share/nodejs/corepack/x.js"}) {
    matches_[p] = managers;
  }
  matches_["/usr/share/nodejs/npm/docs/npm.md"] = RuleMatch{"docs", "", RuleCondition::Always};
  matches_["/usr/share/nodejs/npm/docs/npx.md"] = RuleMatch{"docs", "", RuleCondition::Always};
  make();
  EXPECT_TRUE(decision("/usr/bin/npm").keep);  // the link to the entry
  EXPECT_TRUE(decision("/usr/share/nodejs/npm/bin/npm-cli.js").keep);
  EXPECT_TRUE(decision("/usr/share/nodejs/npm/lib/cli.js").keep);  // its package's program
  // Build-only files of its package still go, with one warning...
  EXPECT_FALSE(decision("/usr/share/nodejs/npm/docs/npm.md").keep);
  EXPECT_EQ(std::count_if(plan_.warnings.begin(), plan_.warnings.end(),
                          [](const std::string& w) {
                            return w.find("rule docs removes 2 files of an entry's own package") !=
                                   std::string::npos;
                          }),
            1);
  // ...and what a path string reached is not shielded.
  EXPECT_FALSE(decision("/usr/share/nodejs/corepack/x.js").keep);
}

TEST_F(PlanTest, LeftOutProgramsSayWhy) {
  dir("/");
  file("/usr/lib/ssl/misc/CA.pl");
  closure_.left_out["/usr/lib/ssl/misc/CA.pl"] = "a script that nothing runs";
  make();
  EXPECT_FALSE(decision("/usr/lib/ssl/misc/CA.pl").keep);
  EXPECT_EQ(decision("/usr/lib/ssl/misc/CA.pl").reason, "a script that nothing runs");
}

TEST_F(PlanTest, RulesRemoveInsideTheClosure) {
  dir("/");
  file("/prog");
  file("/README");
  reach("/prog", EdgeKind::Entry);
  reach("/README", EdgeKind::Package);
  matches_["/README"] = RuleMatch{"docs", "documentation", RuleCondition::Always};
  make();
  EXPECT_FALSE(decision("/README").keep);
  EXPECT_EQ(decision("/README").rule, "docs");
}

TEST_F(PlanTest, LoaderDependenciesOfKeptObjectsSurviveRules) {
  dir("/");
  file("/prog");
  file("/libicudata.so.72");
  reach("/prog", EdgeKind::Entry);
  reach("/libicudata.so.72");
  closure_.loader_deps["/prog"] = {"/libicudata.so.72"};
  matches_["/libicudata.so.72"] = RuleMatch{"static-libs", "", RuleCondition::Always};
  make();
  EXPECT_TRUE(decision("/libicudata.so.72").keep);
  ASSERT_EQ(plan_.warnings.size(), 1u);
  EXPECT_NE(plan_.warnings[0].find("needed by /prog"), std::string::npos);
}

TEST_F(PlanTest, EntriesAreNeverRemovedByRules) {
  dir("/");
  file("/usr/bin/python3");
  reach("/usr/bin/python3", EdgeKind::Entry);
  matches_["/usr/bin/python3"] = RuleMatch{"python", "", RuleCondition::PythonUnused};
  make();
  EXPECT_TRUE(decision("/usr/bin/python3").keep);
}

TEST_F(PlanTest, ConditionalRuleAppliesOnlyWhenNothingKeptNeedsIt) {
  dir("/");
  file("/prog");
  file("/libicudata.so.72");
  reach("/prog", EdgeKind::Entry);
  closure_.everything = true;
  matches_["/libicudata.so.72"] = RuleMatch{"icu-data", "", RuleCondition::IcuUnused};
  make();
  EXPECT_FALSE(decision("/libicudata.so.72").keep);  // nothing loads ICU

  closure_.loader_deps["/prog"] = {"/libicuuc.so.72"};
  make();
  EXPECT_TRUE(decision("/libicudata.so.72").keep);  // something does
}

TEST_F(PlanTest, DirectoriesFollowTheirContents) {
  dir("/");
  dir("/kept");
  file("/kept/a");
  dir("/gone");
  file("/gone/b");
  dir("/empty");
  dir("/tmp");
  file("/tmp/scratch");
  reach("/kept/a", EdgeKind::Entry);
  make();
  EXPECT_TRUE(decision("/kept").keep);
  EXPECT_FALSE(decision("/gone").keep);
  EXPECT_TRUE(decision("/empty").keep);  // empty to begin with: a mount point, say
  EXPECT_TRUE(decision("/tmp").keep);    // emptied, but programs expect it
  EXPECT_FALSE(decision("/tmp/scratch").keep);
  EXPECT_TRUE(decision("/").keep);
}

TEST_F(PlanTest, KeepMaskIsParallelToTheInventory) {
  dir("/");
  file("/a");
  file("/b");
  reach("/a", EdgeKind::Entry);
  make();
  EXPECT_EQ(plan_.keep_mask(), (std::vector<bool>{true, true, false}));
}

}  // namespace
}  // namespace elfprune
