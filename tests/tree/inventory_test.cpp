#include "tree/inventory.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "util/worker_pool.hpp"

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

std::vector<std::string> problem_paths(const Inventory& inv) {
  std::vector<std::string> out;
  for (const auto& e : inv.problems) out.push_back(e.path);
  return out;
}

// Names that sort close to each other and to the separator, and names a
// careless listing would drop ("..x", "...") or mangle.
const std::vector<std::string> kTrickyNames = {"a",   "a\x01", "a-b",         "a.b",         "B",
                                               "..x", "...",   "line\nbreak", "caf\xe9\xff", "z"};

// Under `inside`, every tricky name as a directory, a file or a symlink in
// turn, directories `levels` deep: some hundreds of entries in all. Appends
// the inside paths made to `made`.
void make_tree(const TempDir& dir, const std::string& inside, int levels,
               std::vector<std::string>& made) {
  for (std::size_t j = 0; j < kTrickyNames.size(); ++j) {
    const std::string path = (inside == "/" ? "" : inside) + "/" + kTrickyNames[j];
    made.push_back(path);
    switch ((j + made.size()) % 3) {
      case 0:
        fs::create_directory(dir / path);
        if (levels > 1) make_tree(dir, path, levels - 1, made);
        break;
      case 1:
        write_file(dir / path, path);
        break;
      default:
        make_symlink(dir / path, "../" + kTrickyNames[j]);
        break;
    }
  }
}

// The order the inventory promises, computed here without a walk: whole
// paths in byte order with '/' taken as '\0', a byte no name holds.
std::vector<std::string> walk_order(std::vector<std::string> paths) {
  auto key = [](std::string p) {
    std::replace(p.begin(), p.end(), '/', '\0');
    return p;
  };
  std::sort(paths.begin(), paths.end(), [&key](const std::string& a, const std::string& b) {
    const std::string ka = key(a);
    const std::string kb = key(b);
    return std::lexicographical_compare(
        ka.begin(), ka.end(), kb.begin(), kb.end(), [](char x, char y) {
          return static_cast<unsigned char>(x) < static_cast<unsigned char>(y);
        });
  });
  return paths;
}

// For a child's exit status: 0 when the walk gives `expected` and no
// problem, with a line saying what it gave.
int walk_gives(const TempDir& dir, const std::vector<std::string>& expected) {
  auto inv = take_inventory(Root(dir.path()));
  if (!inv) return 3;
  const bool entries = paths_of(*inv) == expected;
  std::fprintf(stderr, "entries=%d problems=%zu\n", entries, inv->problems.size());
  return entries && inv->problems.empty() ? 0 : 1;
}

// In a child (EXPECT_EXIT): root reads and creates whatever it likes, so
// tests of permission and limits run as nobody.
bool drop_privileges() {
  if (::geteuid() != 0) return true;
  return ::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 &&
         ::setresuid(65534, 65534, 65534) == 0;
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

TEST(Inventory, ForEachBelowVisitsTheSubtreeOnly) {
  TempDir dir;
  write_file(dir / "a/c", "");
  write_file(dir / "a/d/e", "");
  write_file(dir / "a-b", "");  // sorts right after a's subtree: not below a
  write_file(dir / "ab/x", "");
  Root root(dir.path());
  auto inv = take_inventory(root);
  ASSERT_TRUE(inv.ok());
  std::vector<std::string> seen;
  inv->for_each_below("/a", [&](const InventoryEntry& e, std::string_view rel) {
    seen.push_back(e.path + " " + std::string(rel));
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"/a/c c", "/a/d d", "/a/d/e d/e"}));
  std::size_t all = 0;
  inv->for_each_below("/", [&](const InventoryEntry&, std::string_view) { ++all; });
  EXPECT_EQ(all, inv->entries.size() - 1);
  inv->for_each_below("/missing", [&](const InventoryEntry&, std::string_view) { ++all; });
  inv->for_each_below("/a/c", [&](const InventoryEntry&, std::string_view) { ++all; });
  EXPECT_EQ(all, inv->entries.size() - 1);
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

TEST(Inventory, ExcludedPathsAreNotInventoried) {
  TempDir dir;
  write_file(dir / "srv/app/keep", "");
  write_file(dir / "srv/app/cache/big", "");
  write_file(dir / "slim/usr/bin/x", "");
  auto inv = take_inventory(Root(dir.path()), "/", {}, 0, {"/srv/app/cache", "/slim", "/nope"});
  ASSERT_TRUE(inv.ok()) << inv.error().message;
  EXPECT_EQ(paths_of(*inv), (std::vector<std::string>{"/", "/srv", "/srv/app", "/srv/app/keep"}));
  EXPECT_EQ(inv->excluded,
            (std::vector<std::string>{"/slim", "/srv/app/cache"}));  // those that exist
}

TEST(Inventory, MountPointsAreListedNotEntered) {
  // A tmpfs mounted inside the tree: only root may mount.
  TempDir dir;
  write_file(dir / "proc/.keep", "");
  fs::create_directories(dir / "data");
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  const std::string point = (dir / "proc").string();
  ASSERT_EQ(test::run_command("mount -t tmpfs elfprune-test " + test::quoted(point)).status, 0);
  write_file(dir / "proc/self-exe", "from the mounted file system");
  // A bind mount of the same file system: the device does not tell, the
  // mount table does.
  write_file(dir / "data/file", "");
  fs::create_directories(dir / "bound");
  const std::string bound = (dir / "bound").string();
  const bool bind = test::run_command("mount --bind " + test::quoted((dir / "data").string()) +
                                      " " + test::quoted(bound))
                        .status == 0;
  auto inv = take_inventory(Root(dir.path()), "/");
  test::run_command("umount " + test::quoted(point));
  if (bind) test::run_command("umount " + test::quoted(bound));
  ASSERT_TRUE(bind);
  ASSERT_TRUE(inv.ok()) << inv.error().message;
  EXPECT_EQ(paths_of(*inv),
            (std::vector<std::string>{"/", "/bound", "/data", "/data/file", "/proc"}));
  EXPECT_EQ(inv->mount_points, (std::vector<std::string>{"/bound", "/proc"}));
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

TEST(Inventory, HardlinkedCopiesCountEachInodeOnce) {
  TempDir dir;
  write_file(dir / "a/one", "12345");
  write_file(dir / "a/two", "123");
  write_file(dir / "a/three", "1");
  for (const char* copy : {"b", "c"}) {
    fs::create_directories(dir / copy);
    for (const char* name : {"one", "two"})
      fs::create_hard_link(dir / "a" / name, dir / copy / name);
  }
  Inventory inv = inventory_of(dir);
  EXPECT_EQ(inv.total_bytes(), 9u);
  EXPECT_EQ(inv.file_count(), 7u);
}

TEST(PathIndex, FindsEveryEntryByItsPath) {
  TempDir dir;
  std::vector<std::string> made = {"/"};
  make_tree(dir, "/", 3, made);
  Inventory inv = inventory_of(dir);
  ASSERT_EQ(inv.entries.size(), made.size());
  for (std::size_t i = 0; i < inv.entries.size(); ++i) {
    auto it = inv.index.find(inv.entries[i].path);
    ASSERT_NE(it, inv.index.end()) << inv.entries[i].path;
    EXPECT_EQ(it->second, i);
    EXPECT_EQ(it->first, inv.entries[i].path);
  }
  EXPECT_EQ(inv.index.find("/no/such"), inv.index.end());
  EXPECT_EQ(inv.index.count("/no/such"), 0u);
  EXPECT_EQ(inv.find(made[1] + "/"), nullptr);  // spelled exactly, or not found
  EXPECT_THROW(static_cast<void>(inv.index.at("/no/such")), std::out_of_range);
}

TEST(PathIndex, EntriesAddedByHandAreFoundAndTheFirstOfTwoWins) {
  Inventory inv("/");
  for (int i = 0; i < 1000; ++i) {
    InventoryEntry e;
    e.path = fmt::format("/f{}", i);
    inv.entries.push_back(std::move(e));
    if (i % 100 == 0) {
      EXPECT_EQ(inv.index.at(fmt::format("/f{}", i)), static_cast<std::size_t>(i));
    }
  }
  InventoryEntry again;
  again.path = "/f7";
  inv.entries.push_back(again);
  EXPECT_EQ(inv.index.at("/f7"), 7u);
  EXPECT_EQ(inv.index.at("/f999"), 999u);
}

TEST(PathIndex, FollowsItsInventoryWhenCopiedOrMoved) {
  TempDir dir;
  write_file(dir / "a/b", "x");
  Inventory inv = inventory_of(dir);
  Inventory copy = inv;
  Inventory assigned;
  assigned = copy;
  copy.entries[copy.index.at("/a/b")].path = "/a/c";  // a copy's paths are its own
  EXPECT_EQ(copy.find("/a/b"), nullptr);
  EXPECT_EQ(inv.find("/a/b")->path, "/a/b");
  EXPECT_EQ(&*assigned.find("/a/b"), &assigned.entries[assigned.index.at("/a/b")]);
  Inventory moved = std::move(inv);
  Inventory move_assigned;
  move_assigned = std::move(assigned);
  for (const Inventory* i : {&moved, &move_assigned}) {
    const InventoryEntry* b = i->find("/a/b");
    ASSERT_NE(b, nullptr);
    EXPECT_GE(b, i->entries.data());
    EXPECT_LT(b, i->entries.data() + i->entries.size());
  }
}

TEST(LinkTarget, ReadsAsTheStringItWasGiven) {
  LinkTarget t;
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t, "");
  EXPECT_STREQ(t.c_str(), "");
  t = "../lib/x";
  const std::string copied = t;
  const std::string_view viewed = t;
  EXPECT_EQ(copied, "../lib/x");
  EXPECT_EQ(viewed, "../lib/x");
  EXPECT_EQ(fmt::format("[{}]", t), "[../lib/x]");
  EXPECT_EQ(t.size(), 8u);
  LinkTarget other = t;
  t = std::string();
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(other, "../lib/x");
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

TEST(Inventory, ManyDirectoriesComeInWalkOrderNoneLostNoneTwice) {
  TempDir dir;
  std::vector<std::string> made;
  make_tree(dir, "/", 4, made);
  ASSERT_GT(made.size(), 300u);
  made.push_back("/");
  Inventory inv = inventory_of(dir);
  EXPECT_EQ(paths_of(inv), walk_order(made));
  EXPECT_TRUE(inv.problems.empty());
  for (const auto& e : inv.entries) {
    const fs::file_status st = fs::symlink_status(Root(dir.path()).host(e.path));
    EXPECT_EQ(e.type == FileType::Directory, fs::is_directory(st)) << e.path;
    EXPECT_EQ(e.type == FileType::Symlink, fs::is_symlink(st)) << e.path;
  }
}

TEST(Inventory, UnreadableDirectoriesAmongManyAreReportedInWalkOrder) {
  TempDir dir;
  std::vector<std::string> made;
  make_tree(dir, "/", 4, made);
  made.push_back("/");
  const std::vector<std::string> all = walk_order(made);
  // Every fifth directory locked, at every depth, some inside others (those
  // are never reached, so never reported).
  std::vector<std::string> locked;
  int nth = 0;
  for (const auto& p : all) {
    if (p != "/" && fs::is_directory(fs::symlink_status(dir / p)) && ++nth % 5 == 0) {
      locked.push_back(p);
    }
  }
  ASSERT_GT(locked.size(), 5u);
  auto below = [](const std::string& p, const std::string& d) {
    return p.size() > d.size() && p.compare(0, d.size(), d) == 0 && p[d.size()] == '/';
  };
  std::vector<std::string> listed;
  std::vector<std::string> reported;
  for (const auto& p : all) {
    const bool hidden = std::any_of(locked.begin(), locked.end(),
                                    [&](const std::string& d) { return below(p, d); });
    if (hidden) continue;
    listed.push_back(p);
    if (std::find(locked.begin(), locked.end(), p) != locked.end()) reported.push_back(p);
  }
  ASSERT_LT(reported.size(), locked.size());  // some locked directory sits in another
  for (const auto& p : locked) ASSERT_EQ(::chmod((dir / p).c_str(), 0), 0);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  EXPECT_EXIT(
      {
        if (!drop_privileges()) {
          std::fprintf(stderr, "cannot drop privileges\n");
          std::_Exit(2);
        }
        auto inv = take_inventory(Root(dir.path()));
        if (!inv) std::_Exit(3);
        const bool entries = paths_of(*inv) == listed;
        const bool problems = problem_paths(*inv) == reported;
        const bool messages = std::all_of(
            inv->problems.begin(), inv->problems.end(),
            [](const Error& e) { return e.message == "cannot open directory: permission denied"; });
        std::fprintf(stderr, "entries=%d problems=%d messages=%d\n", entries, problems, messages);
        std::_Exit(entries && problems && messages ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "entries=1 problems=1 messages=1");
  for (const auto& p : locked) ::chmod((dir / p).c_str(), 0755);
}

TEST(Inventory, MoreSiblingDirectoriesThanOpenFilesAllowed) {
  TempDir dir;
  std::vector<std::string> made = {"/", "/many"};
  fs::create_directory(dir / "many");
  for (int i = 0; i < 1500; ++i) {
    const std::string d = fmt::format("/many/{:04}", i);
    write_file(dir / (d + "/f"), "");
    made.push_back(d);
    made.push_back(d + "/f");
  }
  const std::vector<std::string> expected = walk_order(made);
  // A walk that opened every waiting directory at once would need 1500 fds.
  EXPECT_EXIT(
      {
        rlimit few{};
        few.rlim_cur = few.rlim_max = 64;
        if (::setrlimit(RLIMIT_NOFILE, &few) != 0) std::_Exit(2);
        std::_Exit(walk_gives(dir, expected));
      },
      ::testing::ExitedWithCode(0), "entries=1 problems=0");
}

TEST(Inventory, WalkCompletesWhenNoThreadCanBeStarted) {
  if (std::thread::hardware_concurrency() < 2)
    GTEST_SKIP() << "one core: the walk starts no thread";
  TempDir dir;
  std::vector<std::string> made = {"/"};
  make_tree(dir, "/", 3, made);
  const std::vector<std::string> expected = walk_order(made);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  EXPECT_EXIT(
      {
        // One process for the user, and it is this one: no thread more.
        rlimit one{};
        one.rlim_cur = one.rlim_max = 1;
        if (!drop_privileges() || ::setrlimit(RLIMIT_NPROC, &one) != 0) std::_Exit(2);
        try {
          std::thread([] {}).join();
          std::fprintf(stderr, "a thread could still be started\n");
          std::_Exit(4);
        } catch (const std::system_error&) {
        }
        std::_Exit(walk_gives(dir, expected));
      },
      ::testing::ExitedWithCode(0), "entries=1 problems=0");
}

// Threads of this process right now, as the kernel counts them.
std::size_t threads_now() {
  const std::filesystem::directory_iterator tasks("/proc/self/task");
  return static_cast<std::size_t>(std::distance(tasks, std::filesystem::directory_iterator()));
}

// --jobs 1: the walk starts no thread, and gives what a walk on several does.
TEST(Inventory, OneJobWalksOnTheCallingThreadAlone) {
  TempDir dir;
  std::vector<std::string> made = {"/"};
  make_tree(dir, "/", 3, made);
  const std::vector<std::string> expected = walk_order(made);
  const std::size_t before = threads_now();
  const std::uint64_t started = WorkerPool::threads_started();
  auto one = take_inventory(Root(dir.path()), "/", {}, 1);
  EXPECT_EQ(WorkerPool::threads_started(), started);
  EXPECT_EQ(threads_now(), before);
  // The count above does move when the walk has threads (at most 8).
  auto many = take_inventory(Root(dir.path()), "/", {}, 12);
  EXPECT_EQ(WorkerPool::threads_started(), started + 7);
  EXPECT_EQ(threads_now(), before);
  ASSERT_TRUE(one && many);
  EXPECT_EQ(paths_of(*one), expected);
  EXPECT_EQ(paths_of(*many), expected);
}

}  // namespace
}  // namespace elfprune
