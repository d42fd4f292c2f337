#include "util/glob.hpp"

#include <gtest/gtest.h>

#include <string>

namespace elfprune {
namespace {

TEST(GlobMatch, StarStaysInOneComponent) {
  EXPECT_TRUE(glob_match("/usr/lib/*.a", "/usr/lib/libz.a"));
  EXPECT_FALSE(glob_match("/usr/lib/*.a", "/usr/lib/x86_64-linux-gnu/libz.a"));
  EXPECT_TRUE(glob_match("/usr/*/libz.a", "/usr/lib/libz.a"));
  EXPECT_TRUE(glob_match("/opt/.*", "/opt/.hidden"));  // no FNM_PERIOD
}

TEST(GlobMatch, DoubleStarCrossesComponents) {
  EXPECT_TRUE(glob_match("/usr/**/*.a", "/usr/lib/x86_64-linux-gnu/libz.a"));
  EXPECT_TRUE(glob_match("/usr/**/libz.a", "/usr/libz.a"));  // `/**/` may be empty
  EXPECT_TRUE(glob_match("/usr/share/doc/**", "/usr/share/doc/a/b"));
  EXPECT_FALSE(glob_match("/usr/share/doc/**", "/usr/share/doc"));
  EXPECT_FALSE(glob_match("/usr/share/doc/**", "/usr/share/docs/a"));
}

TEST(GlobMatch, PatternWithoutSlashMatchesTheLastComponent) {
  EXPECT_TRUE(glob_match("*.md", "/app/node_modules/x/README.md"));
  EXPECT_FALSE(glob_match("*.md", "/app/x.md/index.js"));
  EXPECT_TRUE(glob_match("libicu*", "/usr/lib/libicuuc.so.72"));
}

TEST(GlobMatch, RelativePatternWithSlashIsAnchoredAtRoot) {
  EXPECT_TRUE(glob_match("usr/share/man/**", "/usr/share/man/man1/ls.1.gz"));
  EXPECT_FALSE(glob_match("share/man/**", "/usr/share/man/man1/ls.1.gz"));
  EXPECT_TRUE(glob_match("**/man1/*", "/usr/share/man/man1/ls.1.gz"));
}

TEST(GlobMatch, ClassesQuestionMarksAndEscapes) {
  EXPECT_TRUE(glob_match("/lib/lib?.so", "/lib/libz.so"));
  EXPECT_FALSE(glob_match("/lib/lib?.so", "/lib/lib.so"));
  EXPECT_TRUE(glob_match("/man[1-8]/x", "/man3/x"));
  EXPECT_FALSE(glob_match("/man[1-8]/x", "/man9/x"));
  EXPECT_TRUE(glob_match("/man[!1-8]/x", "/man9/x"));
  EXPECT_TRUE(glob_match("/a[]]b", "/a]b"));
  EXPECT_FALSE(glob_match("/a?b", "/a/b"));  // `?` never matches '/'
  EXPECT_TRUE(glob_match("/odd\\*name", "/odd*name"));
  EXPECT_FALSE(glob_match("/odd\\*name", "/oddXname"));
  EXPECT_TRUE(glob_match("/x[", "/x["));  // unclosed bracket is literal
}

TEST(GlobMatch, ManyStarsStayFast) {
  const std::string path = "/" + std::string(200, 'a');
  EXPECT_FALSE(glob_match("/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", path));
  EXPECT_FALSE(glob_match("/**a**a**a**a**a**a**a**a**a**b", path));
}

}  // namespace
}  // namespace elfprune
