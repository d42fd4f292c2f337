#include "loader/search_path.hpp"

#include <gtest/gtest.h>

namespace elfprune {
namespace {

using Dirs = std::vector<std::string>;
const DstValues kValues{"/app/bin", "lib64", "x86_64"};

TEST(SearchList, SplitsExpandsAndNormalises) {
  EXPECT_EQ(parse_search_list("/a/:$ORIGIN/../lib//:/", ":", kValues, false, true),
            (Dirs{"/a", "/app/bin/../lib", "/"}));
}

TEST(SearchList, DuplicatesKeepFirst) {
  EXPECT_EQ(parse_search_list("/a:/b:/a/", ":", kValues, false, true), (Dirs{"/a", "/b"}));
}

TEST(SearchList, GlibcEmptyElementIsWorkingDirectory) {
  EXPECT_EQ(parse_search_list(":/x", ":", kValues, false, true), (Dirs{"", "/x"}));
  EXPECT_EQ(parse_search_list("/x:", ":", kValues, false, true), (Dirs{"/x", ""}));
}

TEST(SearchList, EntirelyEmptyRpathIsIgnored) {
  EXPECT_TRUE(parse_search_list("", ":", kValues, false, true).empty());
}

TEST(SearchList, LdLibraryPathAcceptsSemicolons) {
  EXPECT_EQ(parse_search_list("/a;/b:/c", ":;", kValues, false, false), (Dirs{"/a", "/b", "/c"}));
}

TEST(SearchList, ElementWithValuelessTokenIsDropped) {
  DstValues v = kValues;
  v.platform.clear();
  EXPECT_EQ(parse_search_list("/a/$PLATFORM:/b", ":", v, false, true), (Dirs{"/b"}));
}

TEST(SearchList, MuslSkipsEmptyElements) {
  EXPECT_EQ(parse_search_list(":/a::/b:", ":", kValues, true, true), (Dirs{"/a", "/b"}));
}

TEST(SearchList, MuslDropsWholeListOnUnknownToken) {
  EXPECT_TRUE(parse_search_list("/a:$LIB/x", ":", kValues, true, true).empty());
  EXPECT_EQ(parse_search_list("${ORIGIN}/x", ":", kValues, true, true), (Dirs{"/app/bin/x"}));
}

}  // namespace
}  // namespace elfprune
