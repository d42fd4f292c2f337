#include "facts/store_refs.hpp"

#include <gtest/gtest.h>

namespace elfprune {
namespace {

const std::string kPkg = "/nix/store/00000000000000000000000000000000-pkg";
const std::string kPython = "/nix/store/11111111111111111111111111111111-python3";
const std::string kGlibc = "/nix/store/22222222222222222222222222222222-glibc";

TEST(StoreReferences, OnlyFilesInTheStoreCount) {
  StoreReferences s("/nix/store/");
  EXPECT_TRUE(s.in_store(kPkg + "/bin/x"));
  EXPECT_FALSE(s.in_store("/usr/bin/x"));
  EXPECT_FALSE(s.in_store("/nix/storex/a"));
}

TEST(StoreReferences, ListsReferrersAndFlagsWhatPruningReleases) {
  StoreReferences s("/nix/store");
  s.add(kPkg + "/bin/app", "#!" + kGlibc + "/lib/ld.so\n" + kPkg + "/lib", 5000, true);
  s.add(kPkg + "/lib/libx.so", std::string("\0") + kGlibc + "/lib\0", 9000, true);
  s.add(kPkg + "/gyp/a.py", "#!" + kPython + "/bin/python3\n", 40, false);
  s.add(kPkg + "/gyp/b.py", "#!" + kPython + "/bin/python3\n", 40, false);
  auto refs = s.result();
  ASSERT_EQ(refs.size(), 2u);  // its own store path is not a reference
  EXPECT_EQ(refs[0].store_path, kPython);
  EXPECT_TRUE(refs[0].kept_by.empty());
  EXPECT_EQ(refs[0].removed_by.size(), 2u);
  EXPECT_EQ(refs[0].flag, "only-removed-files");
  EXPECT_EQ(refs[1].store_path, kGlibc);
  EXPECT_EQ(refs[1].kept_by, (std::vector<std::string>{kPkg + "/bin/app", kPkg + "/lib/libx.so"}));
  EXPECT_EQ(refs[1].flag, "");
}

TEST(StoreReferences, OneSmallKeptFileIsFlagged) {
  StoreReferences s("/nix/store");
  s.add(kPkg + "/share/pkgconfig/x.pc", "prefix=" + kPython + "\n", 120, true);
  auto refs = s.result();
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].flag, "one-small-file");
  s.add(kPkg + "/bin/big", kPython, 100000, true);
  EXPECT_EQ(s.result()[0].flag, "");
}

}  // namespace
}  // namespace elfprune
