#include "facts/pathrefs.hpp"

#include <gtest/gtest.h>

#include <string>

namespace elfprune {
namespace {

using Strings = std::vector<std::string>;
using namespace std::string_literals;  // "...\0..."s keeps embedded NULs

TEST(PathRefs, NulSeparatedRodataStrings) {
  EXPECT_EQ(scan_path_strings("/etc/nsswitch.conf\0/bin/sh\0/bin:/usr/bin\0"s),
            (Strings{"/etc/nsswitch.conf", "/bin/sh", "/bin", "/usr/bin"}));
}

TEST(PathRefs, ColonSeparatesPathLists) {
  EXPECT_EQ(scan_path_strings("/usr/local/bin:/usr/bin:/bin"),
            (Strings{"/usr/local/bin", "/usr/bin", "/bin"}));
}

TEST(PathRefs, InnerSlashStartsNothing) {
  EXPECT_EQ(scan_path_strings("/usr/lib/x86_64-linux-gnu/libz.so.1"),
            (Strings{"/usr/lib/x86_64-linux-gnu/libz.so.1"}));
}

TEST(PathRefs, RelativePathsYieldNothing) {
  EXPECT_EQ(scan_path_strings("lib/x86_64-linux-gnu ../share/x ~/.config a/b"), Strings{});
}

TEST(PathRefs, AssignmentValueIsAPath) {
  EXPECT_EQ(scan_path_strings("PATH=/usr/bin --icu-data-dir=/usr/share/icu"),
            (Strings{"/usr/bin", "/usr/share/icu"}));
}

TEST(PathRefs, PercentPatternsAreKept) {
  EXPECT_EQ(scan_path_strings("/usr/share/locale/%L/%N:/usr/share/locale/%l/%N"s),
            (Strings{"/usr/share/locale/%L/%N", "/usr/share/locale/%l/%N"}));
}

TEST(PathRefs, UrlsYieldNothing) {
  EXPECT_EQ(scan_path_strings("https://example.org/x http://a/b file:///etc/x"), Strings{});
}

TEST(PathRefs, DoubleSlashEndsCandidate) {
  EXPECT_EQ(scan_path_strings("/usr//lib/x"), (Strings{"/usr"}));
}

TEST(PathRefs, TrailingSlashesAndDotsAreTrimmed) {
  EXPECT_EQ(scan_path_strings("/usr/lib/ see /etc/foo. /opt/x/./"),
            (Strings{"/usr/lib", "/etc/foo", "/opt/x"}));
}

TEST(PathRefs, LoneSlashAndDotsYieldNothing) {
  EXPECT_EQ(scan_path_strings("/ /. /.. /// x/"), Strings{});
}

TEST(PathRefs, QuotesAndBlanksEndCandidates) {
  EXPECT_EQ(scan_path_strings("exec \"/usr/bin/node\" '/opt/app/main.js'\t(/etc/x)"),
            (Strings{"/usr/bin/node", "/opt/app/main.js", "/etc/x"}));
}

TEST(PathRefs, DuplicatesKeepFirstOccurrenceOrder) {
  EXPECT_EQ(scan_path_strings("/b\0/a\0/b\0/a/\0/c"s), (Strings{"/b", "/a", "/c"}));
}

TEST(PathRefs, OverlongCandidateIsDropped) {
  const std::string huge = "/" + std::string(5000, 'x');
  EXPECT_EQ(scan_path_strings(huge + "\0/etc/ok\0"s), (Strings{"/etc/ok"}));
}

TEST(PathRefs, CandidateAtPathMaxIsKept) {
  const std::string max = "/" + std::string(4095, 'x');
  EXPECT_EQ(scan_path_strings(max), (Strings{max}));
}

TEST(PathRefs, EmbeddedInBinaryJunk) {
  const std::string junk =
      "\x7f"
      "ELF\x02\x01\x01\0\0\xff\xfe/\x80/lib64/ld-linux-x86-64.so.2\0\x90\x90"s;
  EXPECT_EQ(scan_path_strings(junk), (Strings{"/lib64/ld-linux-x86-64.so.2"}));
}

TEST(PathRefs, NonAsciiByteEndsCandidate) {
  // The `/` after the cut starts a candidate of its own: it follows a non-path byte.
  EXPECT_EQ(scan_path_strings("/usr/share/caf\xc3\xa9/x"), (Strings{"/usr/share/caf", "/x"}));
}

TEST(PathRefs, StartAndEndOfInput) {
  EXPECT_EQ(scan_path_strings("/a"), (Strings{"/a"}));
  EXPECT_EQ(scan_path_strings("x/a"), Strings{});
  EXPECT_EQ(scan_path_strings(""), Strings{});
  EXPECT_EQ(scan_path_strings("/"), Strings{});
}

// Store paths

constexpr std::string_view kHash = "0123456789abcdfghijklmnpqrsvwxyz";  // 32, all valid

TEST(StorePaths, StorePathWithSuffixGivesStorePathOnly) {
  const std::string node = "/nix/store/" + std::string(kHash) + "-nodejs-20.11.1";
  EXPECT_EQ(scan_store_paths("exec " + node + "/bin/node \"$@\""), (Strings{node}));
}

TEST(StorePaths, SeveralDistinctInOrder) {
  const std::string a = "/nix/store/" + std::string(kHash) + "-glibc-2.38";
  const std::string b = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-icu4c-73.2";
  EXPECT_EQ(scan_store_paths(b + "/lib:" + a + "/lib\0"s + b + "/share"), (Strings{b, a}));
}

TEST(StorePaths, BadHashCharactersRejected) {
  for (char bad : {'e', 'o', 't', 'u', 'A', '_'}) {
    std::string hash(kHash);
    hash[5] = bad;
    EXPECT_EQ(scan_store_paths("/nix/store/" + hash + "-x"), Strings{}) << bad;
  }
}

TEST(StorePaths, HashMustBeExactly32) {
  EXPECT_EQ(scan_store_paths("/nix/store/" + std::string(kHash).substr(1) + "-x"), Strings{});
  EXPECT_EQ(scan_store_paths("/nix/store/" + std::string(kHash) + "a-x"), Strings{});
}

TEST(StorePaths, NameRequired) {
  EXPECT_EQ(scan_store_paths("/nix/store/" + std::string(kHash) + "-"), Strings{});
  EXPECT_EQ(scan_store_paths("/nix/store/" + std::string(kHash) + "-/bin"), Strings{});
  EXPECT_EQ(scan_store_paths("/nix/store/" + std::string(kHash)), Strings{});
}

TEST(StorePaths, NameCharacters) {
  const std::string base = "/nix/store/" + std::string(kHash) + "-";
  EXPECT_EQ(scan_store_paths(base + "a+b._?=-c:rest"), (Strings{base + "a+b._?=-c"}));
}

TEST(StorePaths, PrecededByPathCharacterRejected) {
  const std::string path = "/nix/store/" + std::string(kHash) + "-x";
  EXPECT_EQ(scan_store_paths("/home/me" + path), Strings{});
  EXPECT_EQ(scan_store_paths("-L" + path), Strings{});
  EXPECT_EQ(scan_store_paths("PATH=" + path + "/bin"), (Strings{path}));
}

TEST(StorePaths, CustomStoreDir) {
  const std::string path = "/gnu/store/" + std::string(kHash) + "-guile-3.0";
  EXPECT_EQ(scan_store_paths(path + "/bin/guile", "/gnu/store/"), (Strings{path}));
  EXPECT_EQ(scan_store_paths(path, "/nix/store"), Strings{});
}

}  // namespace
}  // namespace elfprune
