#include "trace/sandbox.hpp"

#include <gtest/gtest.h>

namespace elfprune {
namespace {

using Words = std::vector<std::string>;

Words split(std::string_view line) {
  auto r = split_command(line, "--check");
  EXPECT_TRUE(r.ok()) << line;
  return r ? *r : Words{};
}

TEST(SplitCommand, WordsAreSeparatedByBlanks) {
  EXPECT_EQ(split("perl -e 1"), (Words{"perl", "-e", "1"}));
  EXPECT_EQ(split("  a \t b  "), (Words{"a", "b"}));
}

TEST(SplitCommand, QuotesKeepBlanksAndJoinWords) {
  EXPECT_EQ(split("python3 -c 'import json, ssl'"), (Words{"python3", "-c", "import json, ssl"}));
  EXPECT_EQ(split("echo \"a b\"c'd e'"), (Words{"echo", "a bcd e"}));
  EXPECT_EQ(split("x ''"), (Words{"x", ""}));
}

TEST(SplitCommand, BackslashesEscapeAsAShellDoes) {
  EXPECT_EQ(split("a\\ b"), (Words{"a b"}));
  // Inside double quotes only \" \\ \$ \` lose their backslash.
  EXPECT_EQ(split("\"a\\\"b\\n\""), (Words{"a\"b\\n"}));
  // Inside single quotes nothing is special.
  EXPECT_EQ(split("'a\\b'"), (Words{"a\\b"}));
}

TEST(SplitCommand, UnterminatedQuoteAndEmptyCommandAreUsageErrors) {
  auto open = split_command("python3 -c 'import json", "--check");
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().path, "--check");
  EXPECT_NE(open.error().message.find("unterminated single quote"), std::string::npos);
  auto empty = split_command("   ", "--check");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().message, "an empty command");
}

}  // namespace
}  // namespace elfprune
