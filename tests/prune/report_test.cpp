#include "prune/report.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace elfprune {
namespace {

PruneReport sample() {
  PruneReport r;
  r.root = "/srv/root";
  r.mode = "dry-run";
  r.entries = {"/usr/bin/node"};
  r.before = {3, 3'000'000};
  r.after = {1, 1'000'000};
  r.kept = {{"/usr/bin/node", 1'000'000, "entry", "", "nodejs"}};
  r.removed = {{"/usr/share/doc/x/README", 1'500'000, "rule docs", "docs", "x"},
               {"/usr/bin/perl", 500'000, "not needed by the entries", "", "perl-base"}};
  r.removed_by_rule = {{"docs", {1, 1'500'000}}, {"unreachable", {1, 500'000}}};
  r.hints = {"1.0 MB /usr/bin/node kept: /usr/bin/node is an entry"};
  r.warnings = {"a warning"};
  r.verified = true;
  return r;
}

TEST(HumanBytes, Units) {
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(1'200'000), "1.2 MB");
  EXPECT_EQ(human_bytes(310'000'000), "310 MB");
}

TEST(Report, JsonHasTheContractFields) {
  auto doc = nlohmann::json::parse(render_report_json(sample()));
  EXPECT_EQ(doc["before"]["files"], 3);
  EXPECT_EQ(doc["before"]["bytes"], 3'000'000);
  EXPECT_EQ(doc["after"]["bytes"], 1'000'000);
  EXPECT_EQ(doc["removed"][0]["path"], "/usr/share/doc/x/README");
  EXPECT_EQ(doc["removed"][0]["rule"], "docs");
  EXPECT_TRUE(doc["removed"][1]["rule"].is_null());  // unreachable: no rule
  EXPECT_EQ(doc["removed"][1]["reason"], "not needed by the entries");
  EXPECT_EQ(doc["kept"][0]["reason"], "entry");
  EXPECT_FALSE(doc["kept"][0].contains("rule"));
  EXPECT_EQ(doc["warnings"][0], "a warning");
  EXPECT_TRUE(doc["verified"].get<bool>());
}

TEST(Report, ImpliedEntriesAreListedInBothRenderings) {
  PruneReport r = sample();
  r.implied_entries.push_back(
      {"/usr/bin/node", "runs the entry /var/task/index.js (a .js file without a #! line)"});
  auto doc = nlohmann::json::parse(render_report_json(r));
  ASSERT_EQ(doc["implied_entries"].size(), 1u);
  EXPECT_EQ(doc["implied_entries"][0]["path"], "/usr/bin/node");
  EXPECT_NE(render_report_text(r).find("entry /usr/bin/node: runs the entry /var/task/index.js"),
            std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse(render_report_json(sample()))["implied_entries"].empty());
}

TEST(Report, RemovedPackagesAreListedWithTheirReason) {
  PruneReport r = sample();
  r.removed_packages.push_back({"/var/task/node_modules/typescript",
                                "devDependency of orders-handler only", 116, 32'000'000});
  auto doc = nlohmann::json::parse(render_report_json(r));
  ASSERT_EQ(doc["removed_packages"].size(), 1u);
  EXPECT_EQ(doc["removed_packages"][0]["bytes"], 32'000'000);
  EXPECT_NE(render_report_text(r).find("32 MB  /var/task/node_modules/typescript: devDependency "
                                       "of orders-handler only"),
            std::string::npos)
      << render_report_text(r);
}

TEST(Report, TextSummarises) {
  const std::string text = render_report_text(sample());
  EXPECT_NE(text.find("before: 3.0 MB in 3 files"), std::string::npos) << text;
  EXPECT_NE(text.find("after:  1.0 MB in 1 files (33.3% of the bytes)"), std::string::npos) << text;
  EXPECT_NE(text.find("would remove by rule:"), std::string::npos);
  EXPECT_NE(text.find("docs"), std::string::npos);
  EXPECT_NE(text.find("largest kept:"), std::string::npos);
  EXPECT_NE(text.find("hints:"), std::string::npos);
  EXPECT_NE(text.find("verified:"), std::string::npos);
}

TEST(Report, ProblemsAreLoud) {
  PruneReport r = sample();
  r.problems = {"/usr/bin/node: libz.so.1 not found (needed by /usr/bin/node)"};
  const std::string text = render_report_text(r);
  EXPECT_NE(text.find("PROBLEMS (1): the result is broken"), std::string::npos);
  EXPECT_EQ(text.find("verified:"), std::string::npos);
}

// The items are written one at a time rather than through one document:
// the text must be what that document would have dumped, strings that need
// escaping or replacing included.
TEST(Report, JsonItemsAreWhatOneDocumentWouldHold) {
  PruneReport r = sample();
  const std::string without_items = render_report_json(r);
  r.kept.push_back({"/q\"uote\\back\nnew\x01ctl", 7, "\xff\xfe not UTF-8", "", ""});
  r.removed.push_back({"/caf\xc3\xa9/\t", 0, "a \"reason\"", "docs", "npm:@s/p"});
  PruneReport empty = sample();
  empty.kept.clear();
  empty.removed.clear();
  for (const PruneReport* report : {&r, &empty}) {
    auto doc = nlohmann::ordered_json::parse(render_report_json(*report));
    auto items = [](const std::vector<ReportItem>& list, bool with_rule) {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& i : list) {
        nlohmann::ordered_json o{{"path", i.path}, {"bytes", i.bytes}, {"reason", i.reason}};
        if (with_rule)
          o["rule"] = i.rule.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(i.rule);
        if (!i.group.empty()) o["group"] = i.group;
        arr.push_back(std::move(o));
      }
      return arr;
    };
    doc["removed"] = items(report->removed, true);
    doc["kept"] = items(report->kept, false);
    EXPECT_EQ(render_report_json(*report),
              doc.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
  }
  EXPECT_NE(without_items, render_report_json(r));
}

}  // namespace
}  // namespace elfprune
