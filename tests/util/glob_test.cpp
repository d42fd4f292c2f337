#include "util/glob.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

namespace elfprune {
namespace {

bool glob_match(std::string_view pattern, std::string_view path) {
  auto g = GlobPattern::compile(pattern);
  EXPECT_TRUE(g.ok()) << pattern << ": " << g.error().message;
  return g.ok() && g->matches(path);
}

// The message compiling `pattern` fails with, "" when it compiles.
std::string compile_error(std::string_view pattern) {
  auto g = GlobPattern::compile(pattern);
  if (g.ok()) return "";
  EXPECT_EQ(g.error().path, pattern);
  EXPECT_EQ(g.error().kind, ErrorKind::Usage);
  return g.error().message;
}

TEST(GlobMatch, StarStaysInOneComponent) {
  EXPECT_TRUE(glob_match("/usr/lib/*.a", "/usr/lib/libz.a"));
  EXPECT_FALSE(glob_match("/usr/lib/*.a", "/usr/lib/x86_64-linux-gnu/libz.a"));
  EXPECT_TRUE(glob_match("/usr/*/libz.a", "/usr/lib/libz.a"));
  EXPECT_TRUE(glob_match("/opt/.*", "/opt/.hidden"));  // no FNM_PERIOD
}

TEST(GlobMatch, DoubleStarCrossesComponents) {
  EXPECT_TRUE(glob_match("/usr/**/*.a", "/usr/lib/x86_64-linux-gnu/libz.a"));
  EXPECT_TRUE(glob_match("/usr/**/libz.a", "/usr/libz.a"));  // `/**/` may be empty
  EXPECT_FALSE(glob_match("/usr/**/libz.a", "/usrlibz.a"));
  EXPECT_TRUE(glob_match("/usr/share/doc/**", "/usr/share/doc/a/b"));
  EXPECT_FALSE(glob_match("/usr/share/doc/**", "/usr/share/doc"));
  EXPECT_FALSE(glob_match("/usr/share/doc/**", "/usr/share/docs/a"));
  EXPECT_TRUE(glob_match("/a/***/b", "/a/x/y/b"));  // more stars are `**`
  EXPECT_TRUE(glob_match("/a/**/**/b", "/a/b"));
  EXPECT_TRUE(glob_match("/a/**/*", "/a/b"));
}

TEST(GlobMatch, PatternWithoutSlashMatchesTheLastComponent) {
  EXPECT_TRUE(glob_match("*.md", "/app/node_modules/x/README.md"));
  EXPECT_FALSE(glob_match("*.md", "/app/x.md/index.js"));
  EXPECT_TRUE(glob_match("libicu*", "/usr/lib/libicuuc.so.72"));
  EXPECT_TRUE(glob_match("README", "/app/README"));
  EXPECT_FALSE(glob_match("README", "/app/README.md"));
  EXPECT_TRUE(glob_match("**", "/any/thing"));
}

TEST(GlobMatch, RelativePatternWithSlashIsAnchoredAtRoot) {
  EXPECT_TRUE(glob_match("usr/share/man/**", "/usr/share/man/man1/ls.1.gz"));
  EXPECT_FALSE(glob_match("share/man/**", "/usr/share/man/man1/ls.1.gz"));
  EXPECT_TRUE(glob_match("**/man1/*", "/usr/share/man/man1/ls.1.gz"));
  EXPECT_TRUE(glob_match("/usr/share/man/", "/usr/share/man"));  // trailing slashes go
  EXPECT_TRUE(glob_match("/usr/bin/env", "/usr/bin/env"));
  EXPECT_FALSE(glob_match("/usr/bin/env", "/usr/bin/envx"));
  EXPECT_FALSE(glob_match("/usr/bin/env", "/usr/bin/en"));
}

TEST(GlobMatch, ClassesQuestionMarksAndEscapes) {
  EXPECT_TRUE(glob_match("/lib/lib?.so", "/lib/libz.so"));
  EXPECT_FALSE(glob_match("/lib/lib?.so", "/lib/lib.so"));
  EXPECT_TRUE(glob_match("/man[1-8]/x", "/man3/x"));
  EXPECT_FALSE(glob_match("/man[1-8]/x", "/man9/x"));
  EXPECT_TRUE(glob_match("/man[!1-8]/x", "/man9/x"));
  EXPECT_TRUE(glob_match("/man[^1-8]/x", "/man9/x"));
  EXPECT_FALSE(glob_match("/man[^1-8]/x", "/man1/x"));
  EXPECT_TRUE(glob_match("/a[]]b", "/a]b"));
  EXPECT_FALSE(glob_match("/a?b", "/a/b"));  // `?` never matches '/'
  EXPECT_TRUE(glob_match("/odd\\*name", "/odd*name"));
  EXPECT_FALSE(glob_match("/odd\\*name", "/oddXname"));
  EXPECT_TRUE(glob_match("/x\\[", "/x["));
  EXPECT_TRUE(glob_match("/x\\", "/x\\"));  // a trailing backslash is itself
}

TEST(GlobMatch, PosixClassesOfTheCLocale) {
  struct Case {
    const char* name;
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"alnum", "aZ05", "-_ .\xc3"}, {"alpha", "azAZ", "09_\xe9"},
      {"blank", " \t", "\n\va"},     {"cntrl", std::string("\x01\x1f\x7f", 3), " a~\x80"},
      {"digit", "0479", "a \xb2"},   {"graph", "!a~0", " \x7f\xa0"},
      {"lower", "amz", "AMZ5\xe9"},  {"print", " a~", "\t\x7f\xa0"},
      {"punct", "!-._~", "a0 \xa1"}, {"space", " \t\n\v\f\r", "a_\xa0"},
      {"upper", "AMZ", "amz5\xc9"},  {"xdigit", "09afAF", "gG \xb9"},
  };
  for (const auto& c : cases) {
    const std::string pattern = fmt::format("/x[[:{}:]]y", c.name);
    for (char ch : c.in) {
      EXPECT_TRUE(glob_match(pattern, std::string("/x") + ch + "y")) << pattern << " " << +ch;
    }
    for (char ch : c.out) {
      EXPECT_FALSE(glob_match(pattern, std::string("/x") + ch + "y")) << pattern << " " << +ch;
    }
    EXPECT_FALSE(glob_match(pattern, "/x/y"));  // '/' is punct, but never matched
  }
  EXPECT_TRUE(glob_match("libicudata[[:digit:]][[:digit:]]*", "/usr/lib/libicudata72.so"));
}

TEST(GlobMatch, NegatedClasses) {
  EXPECT_TRUE(glob_match("/v[![:digit:]]", "/vx"));
  EXPECT_FALSE(glob_match("/v[![:digit:]]", "/v7"));
  EXPECT_TRUE(glob_match("/a[^[:space:]_]b", "/a-b"));
  EXPECT_FALSE(glob_match("/a[^[:space:]_]b", "/a b"));
  EXPECT_FALSE(glob_match("/a[^[:space:]_]b", "/a_b"));
  EXPECT_FALSE(glob_match("/a[![:alpha:]]b", "/a/b"));  // negation never takes '/'
}

TEST(GlobMatch, RangesMixedWithClasses) {
  const std::string pattern = "/f[a-c[:digit:]_]";
  EXPECT_TRUE(glob_match(pattern, "/fb"));
  EXPECT_TRUE(glob_match(pattern, "/f5"));
  EXPECT_TRUE(glob_match(pattern, "/f_"));
  EXPECT_FALSE(glob_match(pattern, "/fd"));
  EXPECT_FALSE(glob_match(pattern, "/f-"));
  EXPECT_TRUE(glob_match("/f[[:upper:]x-z]", "/fQ"));
  EXPECT_TRUE(glob_match("/f[[:upper:]x-z]", "/fy"));
  EXPECT_FALSE(glob_match("/f[[:upper:]x-z]", "/fw"));
  // After a class, `-` is a member: a class bounds no range.
  EXPECT_TRUE(glob_match("/f[[:digit:]-z]", "/f-"));
  EXPECT_FALSE(glob_match("/f[[:digit:]-z]", "/fm"));
}

TEST(GlobMatch, BracketFirstAndLastMembers) {
  EXPECT_TRUE(glob_match("/a[]x]", "/a]"));
  EXPECT_TRUE(glob_match("/a[]x]", "/ax"));
  EXPECT_FALSE(glob_match("/a[]x]", "/ay"));
  EXPECT_TRUE(glob_match("/a[!]]", "/ay"));
  EXPECT_FALSE(glob_match("/a[!]]", "/a]"));
  EXPECT_TRUE(glob_match("/a[]-a]", "/a^"));  // `]` starts a range: ] ^ _ ` a
  EXPECT_TRUE(glob_match("/a[-x]", "/a-"));
  EXPECT_TRUE(glob_match("/a[x-]", "/a-"));
  EXPECT_TRUE(glob_match("/a[\\]]", "/a]"));
  EXPECT_TRUE(glob_match("/a[[]", "/a["));  // a `[` not followed by `:` is a member
}

TEST(GlobPattern, KeepsItsTextAsGiven) {
  auto g = GlobPattern::compile("usr/share/man/");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->text(), "usr/share/man/");
}

TEST(GlobPattern, MistakesAreErrorsNamingThePattern) {
  EXPECT_NE(compile_error(""), "");
  EXPECT_NE(compile_error("/x[").find("without a closing ']'"), std::string::npos);
  EXPECT_NE(compile_error("[a").find("without a closing ']'"), std::string::npos);
  EXPECT_NE(compile_error("[!]").find("without a closing ']'"), std::string::npos);
  EXPECT_NE(compile_error("[[:digit:]").find("without a closing ']'"), std::string::npos);
  EXPECT_NE(compile_error("[[:digit]").find("without a closing ':]'"), std::string::npos);
  EXPECT_NE(compile_error("[[:digits:]]").find("unknown character class '[:digits:]'"),
            std::string::npos);
  EXPECT_NE(compile_error("[[:DIGIT:]]").find("unknown character class"), std::string::npos);
  EXPECT_NE(compile_error("/[z-a]").find("reversed range 'z-a'"), std::string::npos);
  EXPECT_NE(compile_error("[a-[:digit:]]").find("cannot end a range"), std::string::npos);
  EXPECT_EQ(compile_error("/x\\["), "");
}

// A backtracking matcher tries every way to share the a's among the stars:
// on these it would not finish.
TEST(GlobMatch, ManyStarsStayFast) {
  const std::string a200 = "/" + std::string(200, 'a');
  EXPECT_FALSE(glob_match("/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", a200));
  EXPECT_FALSE(glob_match("/**a**a**a**a**a**a**a**a**a**b", a200));

  // Ending in a star, so that no fixed tail rules the path out before the
  // stars are tried.
  const std::string name(100000, 'a');
  const std::string stars = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b*";
  EXPECT_FALSE(glob_match(stars, "/x/" + name));
  EXPECT_TRUE(glob_match(stars, "/x/" + name + "b"));
  EXPECT_TRUE(glob_match(stars, "/x/" + name + "ba"));

  std::string deep;
  for (int i = 0; i < 20000; ++i) deep += "/a";
  const std::string double_stars = "/**/a*/**/a*/**/a*/**/a*/**/a*/**/a*/**/b/**";
  EXPECT_FALSE(glob_match(double_stars, deep + "/c"));
  EXPECT_TRUE(glob_match(double_stars, deep + "/b/c"));
}

// More states than fit the matcher's stack buffer.
TEST(GlobMatch, LongPatterns) {
  std::string pattern;
  for (int i = 0; i < 150; ++i) pattern += "*a";
  pattern += "*b";
  EXPECT_TRUE(glob_match(pattern, "/x/" + std::string(300, 'a') + "b"));
  EXPECT_FALSE(glob_match(pattern, "/x/" + std::string(149, 'a') + "b"));
  EXPECT_FALSE(glob_match(pattern, "/x/" + std::string(300, 'a')));
  EXPECT_TRUE(glob_match("/" + std::string(400, '?'), "/" + std::string(400, 'q')));
}

}  // namespace
}  // namespace elfprune
