#include "tree/root.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "test_support.hpp"
#include "tree/inventory.hpp"

namespace elfprune {
namespace {

using test::make_symlink;
using test::TempDir;
using test::write_file;

TEST(LexicallyAbsolute, FoldsDotsAndStopsAtRoot) {
  EXPECT_EQ(lexically_absolute("/a/./b//c/../d"), "/a/b/d");
  EXPECT_EQ(lexically_absolute("../../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(lexically_absolute("lib/x.so", "/usr"), "/usr/lib/x.so");
  EXPECT_EQ(lexically_absolute(""), "/");
}

TEST(Root, ResolvesPlainFile) {
  TempDir dir;
  write_file(dir / "etc/hosts", "x");
  Root root(dir.path());
  auto st = root.resolve("/etc/hosts");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->path, "/etc/hosts");
  EXPECT_EQ(st->type, FileType::Regular);
  EXPECT_EQ(st->size, 1u);
}

TEST(Root, AbsoluteSymlinkIsReRooted) {
  TempDir dir;
  write_file(dir / "opt/target", "inside");
  make_symlink(dir / "usr/link", "/opt/target");
  Root root(dir.path());
  auto st = root.resolve("/usr/link");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->path, "/opt/target");
  EXPECT_EQ(*root.read_file("/usr/link"), "inside");
}

TEST(Root, DotDotNeverClimbsAboveRoot) {
  TempDir dir;
  write_file(dir / "marker", "inside");
  make_symlink(dir / "a/b/escape", "../../../../../../marker");
  Root root(dir.path());
  EXPECT_EQ(*root.realpath("/a/b/escape"), "/marker");
  EXPECT_EQ(*root.realpath("/../../../marker"), "/marker");
}

TEST(Root, DotDotAfterSymlinkFollowsTheTarget) {
  // Kernel semantics: `link/..` is the parent of the link's target.
  TempDir dir;
  write_file(dir / "x/y/file", "");
  write_file(dir / "x/sibling", "");
  make_symlink(dir / "link", "/x/y");
  Root root(dir.path());
  EXPECT_EQ(*root.realpath("/link/../sibling"), "/x/sibling");
}

TEST(Root, RelativeSymlinkChain) {
  TempDir dir;
  write_file(dir / "usr/lib/libx.so.1.2.3", "");
  make_symlink(dir / "usr/lib/libx.so.1", "libx.so.1.2.3");
  make_symlink(dir / "usr/lib/libx.so", "libx.so.1");
  make_symlink(dir / "lib", "usr/lib");
  Root root(dir.path());
  EXPECT_EQ(*root.realpath("/lib/libx.so"), "/usr/lib/libx.so.1.2.3");
}

TEST(Root, SymlinkLoopIsAnError) {
  TempDir dir;
  make_symlink(dir / "a", "b");
  make_symlink(dir / "b", "a");
  Root root(dir.path());
  auto st = root.resolve("/a");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "too many levels of symbolic links");
  EXPECT_EQ(st.error().path, "/a");
}

TEST(Root, NothingResolvesBeyondItsBoundaries) {
  TempDir dir;
  write_file(dir / "proc/self/exe", "x");
  write_file(dir / "slim/usr/bin/x", "x");
  make_symlink(dir / "usr/bin/exe", "/proc/self/exe");
  make_symlink(dir / "usr/bin/out", "../../slim/usr/bin/x");
  Root root(dir.path());
  auto bounds = std::make_shared<Root::Boundaries>();
  bounds->sealed = {"/proc"};
  bounds->excluded = {"/slim"};
  root.set_boundaries(bounds);
  EXPECT_TRUE(root.resolve("/proc").ok());  // the mount point itself exists
  EXPECT_EQ(root.resolve("/proc/self/exe").error().message, "no such file or directory");
  EXPECT_FALSE(root.resolve("/usr/bin/exe").ok());
  EXPECT_FALSE(root.resolve("/slim").ok());
  EXPECT_FALSE(root.resolve("/usr/bin/out").ok());
  EXPECT_FALSE(root.without(std::make_shared<std::unordered_set<std::string>>()).exists("/slim"));
}

TEST(Root, NoFollowLastComponent) {
  TempDir dir;
  make_symlink(dir / "dangling", "/nowhere");
  Root root(dir.path());
  auto st = root.resolve("/dangling", false);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->type, FileType::Symlink);
  EXPECT_FALSE(root.resolve("/dangling").ok());
}

TEST(Root, FileUsedAsDirectory) {
  TempDir dir;
  write_file(dir / "file", "");
  Root root(dir.path());
  auto st = root.resolve("/file/child");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "not a directory");
}

TEST(Root, MissingFile) {
  TempDir dir;
  Root root(dir.path());
  auto st = root.resolve("/no/such");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "no such file or directory");
}

TEST(Root, ReadFileRefusesFifoWithoutBlocking) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0644), 0);
  Root root(dir.path());
  auto data = root.read_file("/fifo");
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.error().message, "not a regular file");
}

TEST(Root, ReadFileHonoursLimit) {
  TempDir dir;
  write_file(dir / "big", std::string(1000, 'x'));
  Root root(dir.path());
  EXPECT_EQ(root.read_file("/big", 10)->size(), 10u);
}

TEST(Root, HostPathOfCanonicalPath) {
  TempDir dir;
  Root root(dir.path());
  EXPECT_EQ(root.host("/usr/lib"), dir.path() / "usr/lib");
  Root slash("/");
  EXPECT_EQ(slash.host("/usr/lib").string(), "/usr/lib");
}

TEST(Root, RecordsTheSymlinksFollowed) {
  TempDir dir;
  write_file(dir / "usr/lib/libx.so.1.2", "");
  make_symlink(dir / "usr/lib/libx.so.1", "libx.so.1.2");
  make_symlink(dir / "lib", "usr/lib");
  Root root(dir.path());
  auto st = root.resolve("/lib/libx.so.1");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->symlinks, (std::vector<std::string>{"/lib", "/usr/lib/libx.so.1"}));
}

TEST(Root, HiddenPathsDoNotExistInTheView) {
  TempDir dir;
  write_file(dir / "usr/lib/gone/libx.so", "");
  write_file(dir / "usr/lib/kept", "");
  make_symlink(dir / "lib", "usr/lib");
  Root root(dir.path());
  auto hidden = std::make_shared<std::unordered_set<std::string>>(
      std::unordered_set<std::string>{"/usr/lib/gone"});
  Root view = root.without(hidden);
  EXPECT_FALSE(view.exists("/lib/gone/libx.so"));
  EXPECT_FALSE(view.exists("/usr/lib/gone"));
  EXPECT_TRUE(view.exists("/lib/kept"));
  EXPECT_TRUE(root.exists("/lib/gone/libx.so"));
}

// A remembering root answers from what it saw first (the snapshot a prune
// run works on), and so do its copies and views; a plain root looks again.
TEST(Root, RememberedStatsAnswerLaterLookups) {
  TempDir dir;
  write_file(dir / "usr/lib/libx.so.1", "x");
  make_symlink(dir / "lib", "usr/lib");
  Root plain(dir.path());
  Root remembering(dir.path());
  remembering.remember_stats();
  ASSERT_TRUE(remembering.exists("/lib/libx.so.1"));
  Root copy = remembering;
  Root view = remembering.without(std::make_shared<std::unordered_set<std::string>>());
  std::filesystem::remove(dir / "lib");
  std::filesystem::remove(dir / "usr/lib/libx.so.1");
  EXPECT_FALSE(plain.exists("/lib/libx.so.1"));
  auto st = remembering.resolve("/lib/libx.so.1");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->path, "/usr/lib/libx.so.1");
  EXPECT_EQ(st->symlinks, std::vector<std::string>{"/lib"});
  EXPECT_TRUE(copy.exists("/lib/libx.so.1"));
  EXPECT_TRUE(view.exists("/lib/libx.so.1"));
  // Paths not looked up before are looked up now, and remembered missing.
  EXPECT_FALSE(remembering.exists("/usr/lib/liby.so.1"));
  write_file(dir / "usr/lib/liby.so.1", "y");
  EXPECT_FALSE(remembering.exists("/usr/lib/liby.so.1"));
  EXPECT_TRUE(plain.exists("/usr/lib/liby.so.1"));
}

Root::StatSnapshot snapshot_of(const Inventory& inv) {
  return [&inv](const std::string& path, struct stat& seen, std::optional<std::string>& target) {
    return inv.lstat(path, seen, target);
  };
}

// The inventory's walk answers lookups before the kernel does: the tree as
// it was walked, even after it changed. A symlink whose target the snapshot
// did not read whole is read from the tree.
TEST(Root, SnapshotAnswersBeforeTheKernel) {
  TempDir dir;
  write_file(dir / "usr/lib/libx.so.1", "x");
  make_symlink(dir / "lib", "usr/lib");
  Root root(dir.path());
  root.remember_stats();
  Inventory inv = take_inventory(root).value();
  root.use_snapshot(snapshot_of(inv));
  std::filesystem::remove(dir / "lib");
  std::filesystem::remove(dir / "usr/lib/libx.so.1");
  auto st = root.resolve("/lib/libx.so.1");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->path, "/usr/lib/libx.so.1");
  EXPECT_EQ(st->symlinks, std::vector<std::string>{"/lib"});
  EXPECT_EQ(st->size, 1u);
  EXPECT_FALSE(root.exists("/usr/lib/liby.so.1"));  // not in it: asked of the tree

  // A target cut short (its length differs from the symlink's size) is not
  // trusted: the tree's is read.
  inv.entries[inv.index.at("/lib")].link_target = "usr/li";
  make_symlink(dir / "lib", "usr/lib");
  Root again(dir.path());
  again.remember_stats();
  again.use_snapshot(snapshot_of(inv));
  EXPECT_EQ(again.realpath("/lib/libx.so.1").value(), "/usr/lib/libx.so.1");
}

}  // namespace
}  // namespace elfprune
