#include "elfprune/inventory.hpp"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace elfprune {
namespace {

using test::make_symlink;
using test::TempDir;
using test::write_file;

Inventory inventory_of(const TempDir& dir, const std::string& top = "/") {
  auto inv = take_inventory(Root(dir.path()), top);
  if (!inv) ADD_FAILURE() << inv.error().path << ": " << inv.error().message;
  return inv ? std::move(*inv) : Inventory{};
}

std::vector<std::string> paths_of(const Inventory& inv) {
  std::vector<std::string> out;
  for (const auto& e : inv.entries) out.push_back(e.path);
  return out;
}

TEST(Inventory, DirectoryComesRightBeforeItsSubtree) {
  TempDir dir;
  write_file(dir / "a/c", "");
  write_file(dir / "a/d/e", "");
  // Names that sort between "a" and "a/" byte-wise: a plain string sort
  // would put them inside a's subtree. \x01 is the smallest byte a name can
  // hold, so it catches a separator replaced by \x01.
  write_file(dir / "a-b", "");
  write_file(dir / "a.b", "");
  write_file(dir /
                 "a\x01"
                 "a",
             "");
  Inventory inv = inventory_of(dir);
  EXPECT_EQ(paths_of(inv), (std::vector<std::string>{"/", "/a", "/a/c", "/a/d", "/a/d/e",
                                                     "/a\x01"
                                                     "a",
                                                     "/a-b", "/a.b"}));
  for (std::size_t i = 0; i < inv.entries.size(); ++i) {
    EXPECT_EQ(inv.index.at(inv.entries[i].path), i);
  }
}

TEST(Inventory, HiddenNamesAreSkippedOnlyDirectlyInTheTop) {
  TempDir dir;
  write_file(dir / "srv/app/.journal", "");
  write_file(dir / "srv/app/sub/.journal", "");
  write_file(dir / "srv/.journal", "");
  auto inv = take_inventory(Root(dir.path()), "/srv/app", {".journal"});
  ASSERT_TRUE(inv.ok()) << inv.error().message;
  EXPECT_EQ(paths_of(*inv),
            (std::vector<std::string>{"/srv/app", "/srv/app/sub", "/srv/app/sub/.journal"}));
}

TEST(Inventory, SymlinkTargetIsRecordedAndNotFollowed) {
  TempDir dir;
  write_file(dir / "usr/lib/libc.so.6", "elf");
  make_symlink(dir / "lib", "usr/lib");
  make_symlink(dir / "dangling", "/no/such/file");
  Inventory inv = inventory_of(dir);
  ASSERT_NE(inv.find("/lib"), nullptr);
  EXPECT_EQ(inv.find("/lib")->type, FileType::Symlink);
  EXPECT_EQ(inv.find("/lib")->link_target, "usr/lib");
  EXPECT_EQ(inv.find("/dangling")->link_target, "/no/such/file");
  EXPECT_EQ(inv.find("/lib/libc.so.6"), nullptr);
  EXPECT_TRUE(inv.problems.empty());
}

TEST(Inventory, HardlinksShareTheInodeAndCountOnce) {
  TempDir dir;
  write_file(dir / "a/one", "12345");
  fs::create_directories(dir / "b");
  fs::create_hard_link(dir / "a/one", dir / "b/two");
  Inventory inv = inventory_of(dir);
  const InventoryEntry* one = inv.find("/a/one");
  const InventoryEntry* two = inv.find("/b/two");
  ASSERT_TRUE(one != nullptr && two != nullptr);
  EXPECT_EQ(one->nlink, 2u);
  EXPECT_EQ(two->nlink, 2u);
  EXPECT_EQ(one->ino, two->ino);
  EXPECT_EQ(inv.total_bytes(), 5u);
  EXPECT_EQ(inv.file_count(), 2u);
}

TEST(Inventory, RecordsSizeModeOwnerAndTimes) {
  TempDir dir;
  write_file(dir / "f", "hello");
  ASSERT_EQ(::chmod((dir / "f").c_str(), 04751), 0);
  const timespec times[2] = {{1000, 111}, {2000, 222333}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir / "f").c_str(), times, 0), 0);
  Inventory inv = inventory_of(dir);
  const InventoryEntry* f = inv.find("/f");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, FileType::Regular);
  EXPECT_EQ(f->size, 5u);
  EXPECT_EQ(f->mode, S_IFREG | 04751);
  EXPECT_EQ(f->uid, ::geteuid());
  EXPECT_EQ(f->atime.tv_sec, 1000);
  EXPECT_EQ(f->atime.tv_nsec, 111);
  EXPECT_EQ(f->mtime.tv_sec, 2000);
  EXPECT_EQ(f->mtime.tv_nsec, 222333);
}

TEST(Inventory, FifoIsRecordedWithoutBeingOpened) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "pipe").c_str(), 0644), 0);
  // In a child with an alarm: opening a FIFO with no writer would block for
  // ever, and a hung test is worse than a failed one.
  EXPECT_EXIT(
      {
        ::alarm(10);
        auto inv = take_inventory(Root(dir.path()));
        const bool ok =
            inv && inv->find("/pipe") != nullptr && inv->find("/pipe")->type == FileType::Fifo;
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Inventory, UnreadableDirectoryIsAProblemAndTheWalkGoesOn) {
  TempDir dir;
  write_file(dir / "locked/secret", "");
  write_file(dir / "open/file", "");
  ASSERT_EQ(::chmod((dir / "locked").c_str(), 0), 0);
  // Root reads any directory whatever its mode: drop to nobody in a child.
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  EXPECT_EXIT(
      {
        if (::geteuid() == 0 &&
            (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
             ::setresuid(65534, 65534, 65534) != 0)) {
          std::fprintf(stderr, "cannot drop privileges\n");
          std::_Exit(2);
        }
        auto inv = take_inventory(Root(dir.path()));
        if (!inv) std::_Exit(3);
        const bool listed = inv->find("/locked") != nullptr && inv->find("/open/file") != nullptr;
        const bool skipped = inv->find("/locked/secret") == nullptr;
        const bool reported = std::any_of(inv->problems.begin(), inv->problems.end(),
                                          [](const Error& e) { return e.path == "/locked"; });
        std::fprintf(stderr, "listed=%d skipped=%d reported=%d\n", listed, skipped, reported);
        std::_Exit(listed && skipped && reported ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "listed=1 skipped=1 reported=1");
}

TEST(Inventory, NamesAreRecordedVerbatim) {
  TempDir dir;
  const std::string newline = "line\nbreak";
  const std::string latin1 = "caf\xe9\xff";  // not UTF-8
  write_file(dir / newline, "a");
  write_file(dir / ("d/" + latin1), "b");
  Inventory inv = inventory_of(dir);
  ASSERT_NE(inv.find("/" + newline), nullptr);
  ASSERT_NE(inv.find("/d/" + latin1), nullptr);
  EXPECT_TRUE(fs::exists(Root(dir.path()).host("/d/" + latin1)));
  EXPECT_TRUE(inv.problems.empty());
}

TEST(Inventory, TopThatIsNotADirectoryIsAnError) {
  TempDir dir;
  write_file(dir / "file", "");
  auto inv = take_inventory(Root(dir.path()), "/file");
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.error().message, "not a directory");
}

TEST(Inventory, MissingTopIsAnError) {
  TempDir dir;
  EXPECT_FALSE(take_inventory(Root(dir.path()), "/nix/store/missing").ok());
}

TEST(Inventory, TopBelowTheRootIsWalkedAloneAtInsidePaths) {
  TempDir dir;
  write_file(dir / "usr/lib/x/libx.so", "");
  write_file(dir / "usr/bin/tool", "");
  make_symlink(dir / "lib", "usr/lib");
  Inventory inv = inventory_of(dir, "/lib/x");  // resolved: the canonical top is recorded
  EXPECT_EQ(inv.top, "/usr/lib/x");
  EXPECT_EQ(paths_of(inv), (std::vector<std::string>{"/usr/lib/x", "/usr/lib/x/libx.so"}));
  EXPECT_TRUE(inv.contains("/usr/lib/x/libx.so"));
  EXPECT_FALSE(inv.contains("/usr/lib/xy"));
  EXPECT_FALSE(inv.contains("/usr/bin/tool"));
}

TEST(Inventory, WalksTwoHundredLevelsDeep) {
  TempDir dir;
  std::string inside;
  for (int i = 0; i < 200; ++i) inside += "/d";
  write_file(dir / (inside + "/leaf"), "x");
  Inventory inv = inventory_of(dir);
  EXPECT_EQ(inv.entries.size(), 202u);  // "/", 200 directories, the leaf
  EXPECT_EQ(inv.entries.back().path, inside + "/leaf");
  EXPECT_TRUE(inv.problems.empty());
}

}  // namespace
}  // namespace elfprune
