#include "trace/trace_file.hpp"

#include <gtest/gtest.h>

namespace elfprune {
namespace {

TEST(TraceFile, LinesRoundTripWithEscapes) {
  const std::string odd = std::string("/data/a b\tc\nd\\e\x1b") + "\xc3\xa9";
  const std::string text = std::string(kTraceHeader) + "\n" +
                           format_trace_line(12, "openat", "ok", odd) +
                           format_trace_line(3, "stat", "ENOENT", "/usr/lib/x");
  EXPECT_EQ(format_trace_line(12, "openat", "ok", odd),
            "12 openat ok /data/a b\\tc\\nd\\\\e\\x1b\xc3\xa9\n");
  auto t = parse_trace(text, "t");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->events.size(), 2u);
  EXPECT_EQ(t->events[0].pid, 12);
  EXPECT_EQ(t->events[0].call, "openat");
  EXPECT_TRUE(t->events[0].ok());
  EXPECT_EQ(t->events[0].path, odd);
  EXPECT_EQ(t->events[0].line, 2u);
  EXPECT_TRUE(t->events[1].missing());
  EXPECT_EQ(t->events[1].line, 3u);
}

TEST(TraceFile, CommentsBlankLinesAndMergedFilesAreFine) {
  auto t = parse_trace("# a\n\n1 exe ok /bin/x\r\n# elfprune trace 1\n2 getdents64 ok /\n", "m");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->events.size(), 2u);
  EXPECT_EQ(t->events[0].path, "/bin/x");  // a CRLF an editor left
  EXPECT_EQ(t->events[1].line, 5u);
}

TEST(TraceFile, EACCESIsNotMissing) {
  auto t = parse_trace("1 openat EACCES /etc/shadow\n1 stat ENOTDIR /etc/passwd/x\n", "t");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->events[0].missing());
  EXPECT_TRUE(t->events[1].missing());
}

TEST(TraceFile, BadLinesAreErrorsNamingFileAndLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"x openat ok /a", "process ID"}, {"0 openat ok /a", "process ID"},
      {"1 openat ok", "not an event"},  {"1 Open ok /a", "call"},
      {"1 openat fine /a", "result"},   {"1 openat ok a/b", "not absolute"},
      {"1 openat ok /a\\q", "escape"},  {"1 openat ok /a\\x4", "escape"},
      {"1 openat ok /a\\x00b", "NUL"},
  };
  for (const auto& [line, why] : cases) {
    auto t = parse_trace(std::string("# elfprune trace 1\n") + line + "\n", "bad.trace");
    ASSERT_FALSE(t.ok()) << line;
    EXPECT_EQ(t.error().path, "bad.trace:2") << line;
    EXPECT_NE(t.error().message.find(why), std::string::npos) << line << ": " << t.error().message;
  }
}

TEST(TraceFile, DotDotBelowTheTopIsKeptForTheRootToResolve) {
  auto t = parse_trace("1 openat ok /usr/lib/../bin/x\n", "t");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->events[0].path, "/usr/lib/../bin/x");
}

TEST(TraceFile, DotDotAboveTheTopIsTheRootAsInAChroot) {
  // The kernel accepts /bin/../../usr/bin/x (with /bin -> usr/bin) and
  // /../x; the root resolves them, never above itself.
  auto t = parse_trace("1 newfstatat ok /bin/../../usr/bin/x\n", "t");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->events[0].path, "/bin/../../usr/bin/x");
  EXPECT_EQ(tidy_trace_path("/../../x"), "/x");
}

TEST(TraceFile, TidyDropsDotsAndRepeatedSlashesButNotDotDot) {
  EXPECT_EQ(tidy_trace_path("/a//./b/../c/"), "/a/b/../c");
  EXPECT_EQ(tidy_trace_path("/"), "/");
  EXPECT_EQ(tidy_trace_path("/."), "/");
}

}  // namespace
}  // namespace elfprune
