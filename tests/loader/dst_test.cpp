#include "loader/dst.hpp"

#include <gtest/gtest.h>

namespace elfprune {
namespace {

const DstValues kValues{"/opt/app/lib", "lib/x86_64-linux-gnu", "x86_64"};

TEST(ExpandDst, Origin) {
  EXPECT_EQ(*expand_dst("$ORIGIN/../lib", kValues, false), "/opt/app/lib/../lib");
  EXPECT_EQ(*expand_dst("${ORIGIN}/x", kValues, false), "/opt/app/lib/x");
}

TEST(ExpandDst, LibAndPlatform) {
  EXPECT_EQ(*expand_dst("/usr/$LIB/$PLATFORM", kValues, false), "/usr/lib/x86_64-linux-gnu/x86_64");
  EXPECT_EQ(*expand_dst("/usr/${LIB}", kValues, false), "/usr/lib/x86_64-linux-gnu");
}

TEST(ExpandDst, UnbracedNameMustEndAtNonIdentifier) {
  // "$ORIGINAL" is not $ORIGIN followed by "AL": it stays literal.
  EXPECT_EQ(*expand_dst("$ORIGINAL/x", kValues, false), "$ORIGINAL/x");
  EXPECT_EQ(*expand_dst("$ORIGIN_x", kValues, false), "$ORIGIN_x");
}

TEST(ExpandDst, UnknownTokensStayLiteral) {
  EXPECT_EQ(*expand_dst("/a/$FOO/${BAR}", kValues, false), "/a/$FOO/${BAR}");
  EXPECT_EQ(*expand_dst("/a/$", kValues, false), "/a/$");
}

TEST(ExpandDst, UnclosedBraceIsNotAToken) {
  EXPECT_EQ(*expand_dst("${ORIGIN/x", kValues, false), "${ORIGIN/x");
}

TEST(ExpandDst, TokenWithoutValueDropsElement) {
  DstValues no_platform = kValues;
  no_platform.platform.clear();
  EXPECT_FALSE(expand_dst("/usr/$PLATFORM/lib", no_platform, false).has_value());
}

TEST(ExpandDst, MuslKnowsOnlyOrigin) {
  EXPECT_EQ(*expand_dst("$ORIGIN/$LIB", kValues, true), "/opt/app/lib/$LIB");
}

}  // namespace
}  // namespace elfprune
