#include "write/in_place.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace elfprune {
namespace {

using test::make_symlink;
using test::TempDir;
using test::write_file;

// The journal's path inside the root ("/" + name trips GCC 12's -Wrestrict).
std::string journal_path() {
  return std::string("/").append(kJournalName);
}

// Names a real tree may hold: a newline, invalid UTF-8, spaces.
const std::vector<JournalEntry> kOdd = {{"a/new\nline", false},
                                        {"a/\xff\xfe-latin1-\xe9", false},
                                        {"a/with space", false},
                                        {"a", true}};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

Inventory inventory_of(const fs::path& dir) {
  auto inv = take_inventory(Root(dir));
  if (!inv) ADD_FAILURE() << inv.error().path << ": " << inv.error().message;
  return inv ? std::move(*inv) : Inventory{};
}

// The plan keeps what does not lie at or below `removed`.
std::vector<bool> plan_removing(const Inventory& inv, const std::string& removed) {
  std::vector<bool> keep;
  for (const auto& e : inv.entries) {
    keep.push_back(e.path != removed && e.path.rfind(removed + "/", 0) != 0);
  }
  return keep;
}

// The journal a run killed right after writing it leaves behind.
void plant_journal(const fs::path& dir, const std::vector<JournalEntry>& entries) {
  write_bytes(dir / std::string(kJournalName), encode_journal(entries));
}

Result<FinishedRun> finish(const fs::path& dir) {
  return finish_interrupted(Root(dir), "/", EmitOptions{});
}

// ---------------------------------------------------------------------------
// format

TEST(Journal, RoundTripsAnyNameByte) {
  auto back = decode_journal(encode_journal(kOdd), "/j");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, kOdd);
}

TEST(Journal, EmptyListRoundTrips) {
  auto back = decode_journal(encode_journal({}), "/j");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->empty());
}

TEST(Journal, EveryTruncationIsCorrupt) {
  const std::string bytes = encode_journal(kOdd);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto got = decode_journal(bytes.substr(0, n), "/root/.elfprune-in-place");
    ASSERT_FALSE(got.ok()) << "a prefix of " << n << " bytes was accepted";
    EXPECT_EQ(got.error().path, "/root/.elfprune-in-place");
    EXPECT_EQ(got.error().kind, ErrorKind::Input);
    EXPECT_NE(got.error().message.find("corrupt in-place journal"), std::string::npos);
  }
}

TEST(Journal, EveryFlippedByteIsCorrupt) {
  const std::string bytes = encode_journal(kOdd);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    EXPECT_FALSE(decode_journal(bad, "/j").ok()) << "flipping byte " << i << " went unnoticed";
  }
}

TEST(Journal, PathsOutsideThePrunedDirectoryAreRejected) {
  // encode_journal does not validate, so these carry a correct checksum:
  // only the path check can refuse them.
  for (const std::string bad :
       {"../outside", "a/../../outside", "/etc/passwd", "a/./b", "", "a//b", "a/", ".", ".."}) {
    auto got = decode_journal(encode_journal({{"fine", false}, {bad, false}}), "/j");
    ASSERT_FALSE(got.ok()) << "accepted '" << bad << "'";
    EXPECT_NE(got.error().message.find("record 2"), std::string::npos) << got.error().message;
  }
}

// ---------------------------------------------------------------------------
// remove_in_place

TEST(InPlaceRemoval, LeavesNoJournalAfterACompleteRun) {
  TempDir dir;
  write_file(dir / "a/b/gone", "");
  write_file(dir / "a/kept", "");
  Inventory inv = inventory_of(dir.path());
  auto stats = remove_in_place(Root(dir.path()), inv, plan_removing(inv, "/a/b"), EmitOptions{});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->removed, 2u);
  EXPECT_FALSE(fs::exists(dir / "a/b"));
  EXPECT_TRUE(fs::exists(dir / "a/kept"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / std::string(kJournalName))));
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / std::string(kJournalTempName))));
}

TEST(InPlaceRemoval, NothingToRemoveWritesNothing) {
  TempDir dir;
  write_file(dir / "kept", "");
  Inventory inv = inventory_of(dir.path());
  auto stats =
      remove_in_place(Root(dir.path()), inv, plan_removing(inv, "/nothing"), EmitOptions{});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->removed, 0u);
  EXPECT_EQ(fs::directory_iterator(dir.path())->path().filename(), "kept");
}

TEST(InPlaceRemoval, JournalThatCannotBeWrittenRemovesNothing) {
  TempDir dir;
  write_file(dir / "gone", "");
  // A directory squatting the temp name: the journal cannot be written.
  fs::create_directories(dir / std::string(kJournalTempName) / "x");
  Inventory inv = take_inventory(Root(dir.path()), "/",
                                 {std::string(kJournalName), std::string(kJournalTempName)})
                      .value();
  auto stats = remove_in_place(Root(dir.path()), inv, plan_removing(inv, "/gone"), EmitOptions{});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().path, std::string("/").append(kJournalTempName));
  EXPECT_EQ(stats.error().kind, ErrorKind::Failed);
  EXPECT_NE(stats.error().message.find("nothing removed"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "gone"));
}

// ---------------------------------------------------------------------------
// finish_interrupted

TEST(FinishInterrupted, NoJournalIsNothingToDo) {
  TempDir dir;
  write_file(dir / "f", "");
  auto run = finish(dir.path());
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_FALSE(run->found);
  EXPECT_TRUE(fs::exists(dir / "f"));
}

TEST(FinishInterrupted, RemovesExactlyTheListedEntriesThenTheJournal) {
  TempDir dir;
  for (const auto& e : kOdd) {
    if (!e.directory) write_file(dir / e.path, "x");
  }
  write_file(dir / "a/not-listed", "kept");  // arrived, or was kept: not in the journal
  write_file(dir / "b/kept", "kept");
  // Killed after the first listed removal.
  plant_journal(dir.path(), kOdd);
  fs::remove(dir / kOdd[0].path);
  auto run = finish(dir.path());
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_TRUE(run->found);
  EXPECT_EQ(run->listed, kOdd.size());
  EXPECT_EQ(run->stats.removed, kOdd.size() - 1);  // the listed, non-empty directory "a" stays
  ASSERT_EQ(run->stats.problems.size(), 1u);
  EXPECT_EQ(run->stats.problems[0].path, "/a");
  EXPECT_NE(run->stats.problems[0].message.find("not empty"), std::string::npos);
  for (std::size_t i = 0; i + 1 < kOdd.size(); ++i) EXPECT_FALSE(fs::exists(dir / kOdd[i].path));
  EXPECT_EQ(read_all(dir / "a/not-listed"), "kept");
  EXPECT_EQ(read_all(dir / "b/kept"), "kept");
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / std::string(kJournalName))));
}

TEST(FinishInterrupted, FinishedJournalOfARunThatRemovedEverythingIsJustRemoved) {
  TempDir dir;
  write_file(dir / "kept", "");
  plant_journal(dir.path(), {{"gone/deep/file", false}, {"gone/deep", true}, {"gone", true}});
  auto run = finish(dir.path());
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->stats.removed, 3u);
  EXPECT_TRUE(run->stats.problems.empty());
  EXPECT_TRUE(fs::exists(dir / "kept"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir / std::string(kJournalName))));
}

TEST(FinishInterrupted, CorruptJournalIsAnErrorNamingItAndNothingIsRemoved) {
  TempDir dir;
  write_file(dir / "listed", "x");
  std::string bytes = encode_journal({{"listed", false}});
  bytes.resize(bytes.size() - 5);  // killed mid-write would leave the temp name; this is damage
  write_bytes(dir / std::string(kJournalName), bytes);
  auto run = finish(dir.path());
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().path, journal_path());
  EXPECT_EQ(run.error().kind, ErrorKind::Input);
  EXPECT_TRUE(fs::exists(dir / "listed"));
  EXPECT_TRUE(fs::exists(dir / std::string(kJournalName)));  // left for the user to look at
}

TEST(FinishInterrupted, JournalSymlinkIsNotFollowed) {
  TempDir dir, outside;
  write_file(outside / "journal", encode_journal({{"listed", false}}));
  write_file(dir / "listed", "x");
  make_symlink(dir / std::string(kJournalName), (outside / "journal").string());
  auto run = finish(dir.path());
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().kind, ErrorKind::Input);
  EXPECT_TRUE(fs::exists(dir / "listed"));
}

TEST(FinishInterrupted, FifoUnderTheJournalNameDoesNotHang) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / std::string(kJournalName)).c_str(), 0600), 0);
  auto run = finish(dir.path());
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().message.find("not a regular file"), std::string::npos);
}

TEST(FinishInterrupted, StaleTempJournalIsDeletedAndNothingElse) {
  TempDir dir;
  write_file(dir / "listed", "x");
  write_bytes(dir / std::string(kJournalTempName), encode_journal({{"listed", false}}));
  auto run = finish(dir.path());
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_FALSE(run->found);
  EXPECT_TRUE(fs::exists(dir / "listed"));
  EXPECT_FALSE(fs::exists(dir / std::string(kJournalTempName)));
}

TEST(FinishInterrupted, PlantedSymlinkInPlaceOfAListedDirectoryIsNotFollowed) {
  TempDir dir, outside;
  write_file(outside / "file", "outside");
  make_symlink(dir / "d", outside.path().string());
  plant_journal(dir.path(), {{"d/file", false}, {"d", true}});
  auto run = finish(dir.path());
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(read_all(outside / "file"), "outside");
  ASSERT_FALSE(run->stats.problems.empty());
  EXPECT_EQ(run->stats.problems[0].path, "/d");
  EXPECT_NE(run->stats.problems[0].message.find("refusing to follow"), std::string::npos);
}

TEST(FinishInterrupted, JournalOfADirectoryInsideASysrootUsesPathsRelativeToIt) {
  TempDir dir;
  write_file(dir / "srv/app/gone", "");
  write_file(dir / "gone", "outside the pruned directory");
  write_bytes(dir / "srv/app" / std::string(kJournalName), encode_journal({{"gone", false}}));
  auto run = finish_interrupted(Root(dir.path()), "/srv/app", EmitOptions{});
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_FALSE(fs::exists(dir / "srv/app/gone"));
  EXPECT_TRUE(fs::exists(dir / "gone"));
  EXPECT_FALSE(has_journal(Root(dir.path()), "/srv/app"));
}

// ---------------------------------------------------------------------------
// lock_tree

TEST(TreeLock, ExclusiveExcludesEveryOtherRunAndSharedOnlyExclusive) {
  TempDir dir;
  write_file(dir / "sub/f", "");
  const Root root(dir.path());
  {
    auto pruning = lock_tree(root, "/", /*exclusive=*/true);
    ASSERT_TRUE(pruning.ok() && pruning->held());
    for (bool exclusive : {true, false}) {
      auto other = lock_tree(root, "/", exclusive);
      ASSERT_FALSE(other.ok()) << exclusive;
      EXPECT_EQ(other.error().path, "/");
      EXPECT_EQ(other.error().kind, ErrorKind::Failed);
      EXPECT_NE(other.error().message.find("nothing was done"), std::string::npos);
    }
    // Another directory is another tree.
    EXPECT_TRUE(lock_tree(root, "/sub", true).ok());
  }
  {
    auto reading = lock_tree(root, "/", /*exclusive=*/false);
    ASSERT_TRUE(reading.ok() && reading->held());
    EXPECT_TRUE(lock_tree(root, "/", false).ok());  // readers side by side
    EXPECT_FALSE(lock_tree(root, "/", true).ok());
  }
  // Both released with their locks above.
  EXPECT_TRUE(lock_tree(root, "/", true).ok());
}

TEST(TreeLock, MovedLockIsHeldOnceAndReleasedOnce) {
  TempDir dir;
  const Root root(dir.path());
  auto first = lock_tree(root, "/", true);
  ASSERT_TRUE(first.ok());
  TreeLock kept = std::move(*first);
  EXPECT_TRUE(kept.held());
  EXPECT_FALSE(lock_tree(root, "/", true).ok());
  kept = TreeLock();
  EXPECT_TRUE(lock_tree(root, "/", true).ok());
}

TEST(TreeLock, DirectoryThatCannotBeOpenedGivesNoLockAndNoError) {
  TempDir dir;
  auto lock = lock_tree(Root(dir.path()), "/missing", true);
  ASSERT_TRUE(lock.ok());
  EXPECT_FALSE(lock->held());
}

}  // namespace
}  // namespace elfprune
