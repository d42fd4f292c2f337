#include "image/layer_tree.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "image/digest.hpp"
#include "image/image_test_support.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace elfprune {
namespace {

using test::make_tar;
using test::read_bytes;
using test::tar_dir;
using test::tar_file;
using test::tar_hardlink;
using test::tar_symlink;
using test::TarFilter;
using test::TarMember;
using test::TempDir;
using test::write_file;

// Layers applied one after the other into a staging directory that lies
// alone in a directory of its own (`outer`), so that anything written
// beside it is seen.
class LayerTree : public testing::Test {
 protected:
  void SetUp() override {
    staging_ = outer_.path() / "staging";
    fs::create_directory(staging_);
    tree_.staging = staging_.string();
  }

  // Applies the next layer; its name is "layer N" (N from 1).
  Result<void> apply(const std::vector<TarMember>& members, TarFilter filter = TarFilter::None) {
    return apply_blob(make_tar(members, filter));
  }
  Result<void> apply_blob(const std::string& bytes) {
    const fs::path file = blobs_ / fmt::format("blob{}", next_);
    write_file(file, bytes);
    const auto layer = next_++;
    return apply_layer_file(tree_, file.string(), layer, fmt::format("layer {}", layer + 1));
  }
  void apply_ok(const std::vector<TarMember>& members, TarFilter filter = TarFilter::None) {
    auto r = apply(members, filter);
    ASSERT_TRUE(r.ok()) << r.error().path << ": " << r.error().message;
  }

  bool has(const std::string& path) const { return tree_.nodes.count(path) != 0; }
  const TreeNode& node(const std::string& path) const {
    static const TreeNode none;
    auto it = tree_.nodes.find(path);
    if (it == tree_.nodes.end()) {
      ADD_FAILURE() << "no node " << path;
      return none;
    }
    return it->second;
  }
  bool on_disk(const std::string& path) const {
    struct stat st {};
    return ::lstat((staging_ / path).c_str(), &st) == 0;
  }
  std::string disk(const std::string& path) const { return read_bytes(staging_ / path); }
  std::string warnings() const {
    std::string out;
    for (const auto& w : tree_.warnings) out += w + "\n";
    return out;
  }
  // What lies beside the staging directory: nothing but it.
  std::vector<std::string> beside_staging() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(outer_.path())) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  TempDir outer_, blobs_;
  fs::path staging_;
  ImageTree tree_;
  std::uint32_t next_ = 0;
};

std::string message_of(const Result<void>& r) {
  return r.ok() ? std::string("(ok)") : r.error().path + ": " + r.error().message;
}

// ---------------------------------------------------------------------------
// Entries and their metadata

TEST_F(LayerTree, FilesDirectoriesAndSymlinksLandOnDisk) {
  apply_ok({tar_dir("usr/"), tar_dir("usr/bin/"), tar_file("usr/bin/node", "node", 0755),
            tar_symlink("usr/bin/nodejs", "node")});
  EXPECT_TRUE(fs::is_directory(staging_ / "usr/bin"));
  EXPECT_EQ(disk("usr/bin/node"), "node");
  EXPECT_TRUE(fs::is_symlink(staging_ / "usr/bin/nodejs"));
  EXPECT_EQ(fs::read_symlink(staging_ / "usr/bin/nodejs"), "node");
  EXPECT_EQ(node("usr").meta.type, TarType::Directory);
  EXPECT_EQ(node("usr/bin/node").meta.type, TarType::Regular);
  EXPECT_EQ(node("usr/bin/node").meta.size, 4u);
  EXPECT_EQ(node("usr/bin/nodejs").meta.type, TarType::Symlink);
  EXPECT_EQ(node("usr/bin/nodejs").meta.link, "node");
  EXPECT_TRUE(tree_.warnings.empty()) << warnings();
}

TEST_F(LayerTree, HeaderMetadataIsKeptInTheNodes) {
  TarMember ping = tar_file("bin/ping", "ping", 04755);
  ping.uid = 1000;
  ping.gid = 2000;
  ping.uname = "builder";
  ping.gname = "staff";
  ping.mtime = 1234567890;
  const std::string cap("\x01\x00\x00\x02\x00\x20\x00\x00", 8);
  ping.xattrs.emplace_back("security.capability", cap);
  TarMember dir = tar_dir("bin/", 01777);
  dir.uid = 7;
  apply_ok({dir, ping});
  const TarMeta& m = node("bin/ping").meta;
  EXPECT_EQ(m.mode, 04755u);
  EXPECT_EQ(m.uid, 1000);
  EXPECT_EQ(m.gid, 2000);
  EXPECT_EQ(m.uname, "builder");
  EXPECT_EQ(m.gname, "staff");
  EXPECT_EQ(m.mtime, 1234567890);
  ASSERT_EQ(m.xattrs.size(), 1u);
  EXPECT_EQ(m.xattrs[0].first, "security.capability");
  EXPECT_EQ(m.xattrs[0].second, cap);
  EXPECT_EQ(node("bin").meta.mode, 01777u);
  EXPECT_EQ(node("bin").meta.uid, 7);
  EXPECT_FALSE(node("bin").implied);
}

TEST_F(LayerTree, ParentsNoLayerListsAreImpliedDirectories) {
  apply_ok({tar_file("a/b/c", "x")});
  EXPECT_TRUE(node("a").implied);
  EXPECT_TRUE(node("a/b").implied);
  EXPECT_EQ(node("a/b").meta.type, TarType::Directory);
  EXPECT_FALSE(node("a/b/c").implied);
  EXPECT_EQ(disk("a/b/c"), "x");
}

TEST_F(LayerTree, DotSlashPrefixesAreDropped) {
  apply_ok({tar_dir("./"), tar_dir("./etc/"), tar_file("./etc/hostname", "box")});
  EXPECT_TRUE(has("etc"));
  EXPECT_TRUE(has("etc/hostname"));
  EXPECT_FALSE(has("."));
  EXPECT_FALSE(has(""));
  EXPECT_FALSE(has("./etc/hostname"));
  EXPECT_EQ(disk("etc/hostname"), "box");
}

TEST_F(LayerTree, TheLastOfDuplicatePathsInOneLayerWins) {
  apply_ok({tar_file("etc/motd", "first", 0600), tar_file("etc/motd", "second", 0644)});
  EXPECT_EQ(disk("etc/motd"), "second");
  EXPECT_EQ(node("etc/motd").meta.mode, 0644u);
  EXPECT_EQ(node("etc/motd").meta.size, 6u);
}

TEST_F(LayerTree, ADirectoryReplacesAFileOfALowerLayer) {
  apply_ok({tar_file("opt/x", "file")});
  apply_ok({tar_dir("opt/x/"), tar_file("opt/x/y", "y")});
  EXPECT_TRUE(fs::is_directory(staging_ / "opt/x"));
  EXPECT_EQ(node("opt/x").meta.type, TarType::Directory);
  EXPECT_EQ(disk("opt/x/y"), "y");
}

// ---------------------------------------------------------------------------
// Whiteouts

TEST_F(LayerTree, WhiteoutRemovesAFileOfALowerLayer) {
  apply_ok({tar_file("etc/a", "a"), tar_file("etc/b", "b")});
  apply_ok({tar_file("etc/.wh.a", "")});
  EXPECT_FALSE(has("etc/a"));
  EXPECT_FALSE(on_disk("etc/a"));
  EXPECT_FALSE(has("etc/.wh.a"));
  EXPECT_FALSE(on_disk("etc/.wh.a"));
  EXPECT_TRUE(has("etc/b"));
  EXPECT_EQ(tree_.layers[1].whiteouts, 1u);
}

TEST_F(LayerTree, WhiteoutRemovesADirectoryOfALowerLayerWithEverythingBelowIt) {
  apply_ok({tar_dir("var/"), tar_dir("var/cache/"), tar_dir("var/cache/apt/"),
            tar_file("var/cache/apt/pkgcache.bin", "cache"), tar_file("var/keep", "k")});
  apply_ok({tar_file("var/.wh.cache", "")});
  EXPECT_FALSE(has("var/cache"));
  EXPECT_FALSE(has("var/cache/apt"));
  EXPECT_FALSE(has("var/cache/apt/pkgcache.bin"));
  EXPECT_FALSE(on_disk("var/cache"));
  EXPECT_TRUE(has("var/keep"));
  EXPECT_TRUE(on_disk("var/keep"));
}

// Names that sort between "dir" and "dir/" ('.' and '-' sort before '/')
// are siblings of a removed directory, not what it holds.
TEST_F(LayerTree, WhiteoutOfADirectoryKeepsSiblingsThatShareItsNameAsPrefix) {
  apply_ok({tar_dir("etc/"), tar_dir("etc/ssl/"), tar_file("etc/ssl/cert.pem", "pem"),
            tar_file("etc/ssl.conf", "conf"), tar_file("etc/ssl-old", "old")});
  apply_ok({tar_file("etc/.wh.ssl", "")});
  EXPECT_FALSE(has("etc/ssl"));
  EXPECT_FALSE(has("etc/ssl/cert.pem"));
  EXPECT_TRUE(on_disk("etc/ssl.conf"));
  EXPECT_TRUE(on_disk("etc/ssl-old"));
  EXPECT_TRUE(has("etc/ssl.conf")) << "the node of a sibling went with the whiteout";
  EXPECT_TRUE(has("etc/ssl-old")) << "the node of a sibling went with the whiteout";
}

TEST_F(LayerTree, OpaqueWhiteoutAfterTheLayersOwnEntriesRemovesOnlyLowerLayers) {
  apply_ok({tar_dir("app/"), tar_file("app/old.js", "old"), tar_dir("app/lib/"),
            tar_file("app/lib/old.js", "old"), tar_dir("app/gone/"), tar_file("app/gone/x", "x"),
            tar_file("other", "o")});
  // The opaque marker comes last in its directory, after this layer's
  // entries there: they stay, whatever the order.
  apply_ok({tar_file("app/new.js", "new"), tar_file("app/lib/new.js", "new"),
            tar_file("app/.wh..wh..opq", "")});
  EXPECT_TRUE(has("app"));
  EXPECT_TRUE(has("app/new.js"));
  EXPECT_EQ(disk("app/new.js"), "new");
  EXPECT_FALSE(has("app/old.js"));
  EXPECT_FALSE(on_disk("app/old.js"));
  EXPECT_FALSE(has("app/gone"));
  EXPECT_FALSE(has("app/gone/x"));
  EXPECT_FALSE(on_disk("app/gone"));
  // A lower directory this layer put something in stays, with only that.
  EXPECT_TRUE(has("app/lib"));
  EXPECT_TRUE(has("app/lib/new.js"));
  EXPECT_EQ(disk("app/lib/new.js"), "new");
  EXPECT_FALSE(has("app/lib/old.js"));
  EXPECT_FALSE(on_disk("app/lib/old.js"));
  EXPECT_FALSE(has("app/.wh..wh..opq"));
  EXPECT_FALSE(on_disk("app/.wh..wh..opq"));
  EXPECT_TRUE(has("other"));
}

// As above, with a sibling of this layer whose name sorts between the kept
// directory and what it holds ("lib.js" between "lib" and "lib/").
TEST_F(LayerTree, OpaqueWhiteoutKeepsALowerDirectoryWithEntriesWhateverItsSiblingsAreCalled) {
  apply_ok({tar_dir("app/"), tar_dir("app/lib/"), tar_file("app/lib/old.js", "old")});
  apply_ok({tar_file("app/lib/new.js", "new"), tar_file("app/lib.js", "sibling"),
            tar_file("app/.wh..wh..opq", "")});
  EXPECT_TRUE(has("app/lib.js"));
  EXPECT_EQ(disk("app/lib.js"), "sibling");
  EXPECT_TRUE(has("app/lib"));
  EXPECT_TRUE(has("app/lib/new.js"));
  EXPECT_TRUE(on_disk("app/lib/new.js"));
  EXPECT_FALSE(has("app/lib/old.js"));
}

TEST_F(LayerTree, OpaqueWhiteoutDoesNotTouchOtherDirectories) {
  apply_ok({tar_file("a/x", "x"), tar_file("b/y", "y")});
  apply_ok({tar_file("a/.wh..wh..opq", "")});
  EXPECT_FALSE(has("a/x"));
  EXPECT_TRUE(has("a"));
  EXPECT_TRUE(has("b/y"));
  EXPECT_TRUE(on_disk("b/y"));
}

// Whiteouts hide lower layers only: in either order within the layer, the
// layer's own new version stays.
TEST_F(LayerTree, AWhiteoutAndANewVersionInTheSameLayerLeaveTheNewVersion) {
  apply_ok({tar_file("etc/a", "old"), tar_file("etc/b", "old")});
  apply_ok({tar_file("etc/.wh.a", ""), tar_file("etc/a", "new"), tar_file("etc/b", "new"),
            tar_file("etc/.wh.b", "")});
  EXPECT_EQ(disk("etc/a"), "new");
  EXPECT_EQ(disk("etc/b"), "new");
  EXPECT_EQ(node("etc/a").layer, 1u);
  EXPECT_EQ(node("etc/b").layer, 1u);
}

TEST_F(LayerTree, WhiteoutOfAMissingPathIsAWarningNotAnError) {
  apply_ok({tar_file("etc/a", "a")});
  auto r = apply({tar_file("etc/.wh.nothing", "")});
  EXPECT_TRUE(r.ok()) << message_of(r);
  ASSERT_EQ(tree_.warnings.size(), 1u) << warnings();
  EXPECT_NE(tree_.warnings[0].find("etc/nothing"), std::string::npos) << warnings();
  EXPECT_NE(tree_.warnings[0].find("layer 2"), std::string::npos) << warnings();
  EXPECT_TRUE(has("etc/a"));
}

// ---------------------------------------------------------------------------
// Hardlinks

TEST_F(LayerTree, HardlinkToAFileOfALowerLayerSharesItsInode) {
  apply_ok({tar_file("usr/bin/python3.11", "py", 0755)});
  apply_ok({tar_hardlink("usr/bin/python3", "usr/bin/python3.11")});
  struct stat a {
  }, b{};
  ASSERT_EQ(::lstat((staging_ / "usr/bin/python3.11").c_str(), &a), 0);
  ASSERT_EQ(::lstat((staging_ / "usr/bin/python3").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_dev, b.st_dev);
  const TreeNode& n = node("usr/bin/python3");
  EXPECT_EQ(n.hardlink, "usr/bin/python3.11");
  EXPECT_EQ(n.layer, 1u);
  EXPECT_EQ(n.meta.type, TarType::Regular);
  EXPECT_EQ(n.meta.mode, 0755u);
  EXPECT_TRUE(tree_.warnings.empty()) << warnings();
}

TEST_F(LayerTree, HardlinkToAMissingTargetIsAWarning) {
  auto r = apply({tar_hardlink("usr/bin/x", "usr/bin/nothing")});
  EXPECT_TRUE(r.ok()) << message_of(r);
  EXPECT_FALSE(has("usr/bin/x"));
  EXPECT_FALSE(on_disk("usr/bin/x"));
  ASSERT_EQ(tree_.warnings.size(), 1u) << warnings();
  EXPECT_NE(tree_.warnings[0].find("usr/bin/nothing"), std::string::npos) << warnings();
}

// ---------------------------------------------------------------------------
// Names that escape

TEST_F(LayerTree, DotDotInANameIsAnErrorNamingTheLayerAndThePath) {
  apply_ok({tar_file("a", "a")});
  auto r = apply({tar_file("usr/../../etc/passwd", "root")});
  ASSERT_FALSE(r.ok());
  const std::string m = message_of(r);
  EXPECT_NE(m.find("layer 2"), std::string::npos) << m;
  EXPECT_NE(m.find("usr/../../etc/passwd"), std::string::npos) << m;
  EXPECT_EQ(beside_staging(), std::vector<std::string>{"staging"});
}

TEST_F(LayerTree, AnAbsoluteNameIsAnErrorNamingTheLayerAndThePath) {
  auto r = apply({tar_file("/etc/passwd", "root")});
  ASSERT_FALSE(r.ok());
  const std::string m = message_of(r);
  EXPECT_NE(m.find("layer 1"), std::string::npos) << m;
  EXPECT_NE(m.find("/etc/passwd"), std::string::npos) << m;
}

TEST_F(LayerTree, AHardlinkTargetWithDotDotIsAnError) {
  apply_ok({tar_file("a", "a")});
  auto r = apply({tar_hardlink("b", "../a")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(message_of(r).find("layer 2"), std::string::npos) << message_of(r);
}

// ---------------------------------------------------------------------------
// Parents that are symbolic links

TEST_F(LayerTree, AnEntryBelowASymlinkToADirectoryLandsInTheLinkedDirectory) {
  apply_ok({tar_dir("usr/"), tar_dir("usr/lib/"), tar_symlink("lib", "usr/lib")});
  apply_ok({tar_file("lib/x", "x")});
  EXPECT_TRUE(has("usr/lib/x"));
  EXPECT_FALSE(has("lib/x"));
  EXPECT_EQ(disk("usr/lib/x"), "x");
  EXPECT_TRUE(fs::is_symlink(staging_ / "lib"));
  EXPECT_EQ(resolve_parents(tree_, "lib/x"), std::optional<std::string>("usr/lib/x"));
}

TEST_F(LayerTree, AnAbsoluteSymlinkWithDotDotsAsParentStaysInTheStagingDirectory) {
  apply_ok({tar_symlink("evil", "/../../etc")});
  apply_ok({tar_file("evil/passwd", "not the host's")});
  EXPECT_TRUE(has("etc/passwd"));
  EXPECT_EQ(disk("etc/passwd"), "not the host's");
  EXPECT_EQ(beside_staging(), std::vector<std::string>{"staging"});
  EXPECT_NE(read_bytes("/etc/passwd"), "not the host's");
}

TEST_F(LayerTree, ARelativeSymlinkUpwardsAsParentStaysInTheStagingDirectory) {
  apply_ok({tar_dir("a/"), tar_symlink("a/up", "../../../..")});
  apply_ok({tar_file("a/up/escaped", "x"), tar_dir("a/up/newdir/")});
  EXPECT_TRUE(has("escaped"));
  EXPECT_TRUE(on_disk("escaped"));
  EXPECT_TRUE(has("newdir"));
  EXPECT_EQ(beside_staging(), std::vector<std::string>{"staging"});
}

TEST_F(LayerTree, ASymlinkLoopAsParentIsSkippedWithAWarning) {
  apply_ok({tar_symlink("a", "b"), tar_symlink("b", "a")});
  auto r = apply({tar_file("a/x", "x")});
  EXPECT_TRUE(r.ok()) << message_of(r);
  EXPECT_FALSE(tree_.warnings.empty());
  EXPECT_EQ(beside_staging(), std::vector<std::string>{"staging"});
}

TEST_F(LayerTree, AFileAsParentIsSkippedWithAWarning) {
  apply_ok({tar_file("f", "file")});
  auto r = apply({tar_file("f/x", "x")});
  EXPECT_TRUE(r.ok()) << message_of(r);
  EXPECT_FALSE(has("f/x"));
  EXPECT_EQ(tree_.warnings.size(), 1u) << warnings();
}

// ---------------------------------------------------------------------------
// Compression and corrupt blobs

TEST_F(LayerTree, PlainGzipAndZstdLayersAreAllRead) {
  apply_ok({tar_file("plain", "p")}, TarFilter::None);
  apply_ok({tar_file("gzip", "g")}, TarFilter::Gzip);
  apply_ok({tar_file("zstd", "z")}, TarFilter::Zstd);
  EXPECT_EQ(disk("plain"), "p");
  EXPECT_EQ(disk("gzip"), "g");
  EXPECT_EQ(disk("zstd"), "z");
}

TEST_F(LayerTree, LayerStatsHoldTheDigestsOfTheBlobAndOfTheTar) {
  const std::string blob =
      make_tar({tar_file("a", "hello"), tar_file("b/.wh.c", "")}, TarFilter::Gzip);
  const std::string tar = test::decompress(blob);
  ASSERT_NE(tar.size(), blob.size());
  auto r = apply_blob(blob);
  ASSERT_TRUE(r.ok()) << message_of(r);
  const LayerStats& s = tree_.layers[0];
  EXPECT_EQ(s.digest, sha256_digest(blob));
  EXPECT_EQ(s.diff_id, sha256_digest(tar));
  EXPECT_EQ(s.blob_size, blob.size());
  EXPECT_EQ(s.entries, 2u);
  EXPECT_EQ(s.whiteouts, 1u);
  EXPECT_EQ(s.file_bytes, 5u);
}

TEST_F(LayerTree, ATruncatedGzipLayerIsAnError) {
  // Content that does not compress, so that half the blob is half the tar.
  std::vector<TarMember> members;
  std::uint32_t x = 12345;
  for (int i = 0; i < 20; ++i) {
    std::string data(4000, '\0');
    for (auto& c : data) {
      x = x * 1103515245u + 12345u;
      c = static_cast<char>(x >> 24);
    }
    members.push_back(tar_file(fmt::format("f{}", i), data));
  }
  const std::string blob = make_tar(members, TarFilter::Gzip);
  ASSERT_GT(blob.size(), 60000u);
  auto r = apply_blob(blob.substr(0, blob.size() / 2));
  EXPECT_FALSE(r.ok());
  EXPECT_NE(message_of(r).find("layer 1"), std::string::npos) << message_of(r);
}

TEST_F(LayerTree, ATruncatedPlainLayerIsAnError) {
  const std::string tar = make_tar({tar_file("a", std::string(5000, 'a'))});
  auto r = apply_blob(tar.substr(0, 2048));
  EXPECT_FALSE(r.ok());
}

TEST_F(LayerTree, AGarbageBlobIsAnError) {
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919 + 13) % 251);
  auto r = apply_blob(garbage);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(beside_staging(), std::vector<std::string>{"staging"});
}

TEST_F(LayerTree, AnEmptyBlobIsAnError) {
  auto r = apply_blob("");
  EXPECT_FALSE(r.ok());
}

TEST_F(LayerTree, AMissingBlobIsAnErrorSayingSo) {
  auto r = apply_layer_file(tree_, (blobs_ / "nothing").string(), 0, "layer 1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("missing"), std::string::npos) << message_of(r);
}

// ---------------------------------------------------------------------------
// Special files

TEST_F(LayerTree, DevicesAndFifosAreEmptyRegularFilesWithTheirTypeInTheNode) {
  TarMember null;
  null.name = "dev/null";
  null.kind = TarMember::Kind::CharDevice;
  null.mode = 0666;
  null.devmajor = 1;
  null.devminor = 3;
  TarMember sda;
  sda.name = "dev/sda";
  sda.kind = TarMember::Kind::BlockDevice;
  sda.devmajor = 8;
  sda.devminor = 0;
  TarMember fifo;
  fifo.name = "run/initctl";
  fifo.kind = TarMember::Kind::Fifo;
  fifo.mode = 0600;
  apply_ok({null, sda, fifo});
  for (const char* p : {"dev/null", "dev/sda", "run/initctl"}) {
    struct stat st {};
    ASSERT_EQ(::lstat((staging_ / p).c_str(), &st), 0) << p;
    EXPECT_TRUE(S_ISREG(st.st_mode)) << p;
    EXPECT_EQ(st.st_size, 0) << p;
  }
  EXPECT_EQ(node("dev/null").meta.type, TarType::CharDevice);
  EXPECT_EQ(node("dev/null").meta.devmajor, 1u);
  EXPECT_EQ(node("dev/null").meta.devminor, 3u);
  EXPECT_EQ(node("dev/null").meta.mode, 0666u);
  EXPECT_EQ(node("dev/sda").meta.type, TarType::BlockDevice);
  EXPECT_EQ(node("dev/sda").meta.devmajor, 8u);
  EXPECT_EQ(node("run/initctl").meta.type, TarType::Fifo);
}

// ---------------------------------------------------------------------------
// Which layers list a path

TEST_F(LayerTree, ListedInHasABitForEachLayerThatListsThePath) {
  apply_ok({tar_dir("etc/"), tar_file("etc/a", "1"), tar_file("etc/b", "1")});
  apply_ok({tar_file("etc/a", "2"), tar_file("opt/c", "2")});
  EXPECT_EQ(node("etc/a").listed_in, layer_bit(0) | layer_bit(1));
  EXPECT_EQ(node("etc/a").layer, 1u);
  EXPECT_EQ(node("etc/b").listed_in, layer_bit(0));
  EXPECT_EQ(node("etc/b").layer, 0u);
  EXPECT_EQ(node("opt/c").listed_in, layer_bit(1));
  EXPECT_EQ(node("etc").listed_in, layer_bit(0));
  EXPECT_EQ(layer_bit(70), layer_bit(63));
}

// A whiteout at the top of the tree (".wh.app", "./.wh.app") removes the
// top-level entry, as one in a directory does.
TEST_F(LayerTree, AWhiteoutAtTheTopRemovesTheTopLevelEntry) {
  apply_ok({tar_dir("app/"), tar_file("app/main.js", "x"), tar_file("keep", "k")});
  apply_ok({tar_file("./.wh.app", "")});
  EXPECT_FALSE(has("app"));
  EXPECT_FALSE(has("app/main.js"));
  EXPECT_FALSE(on_disk("app"));
  EXPECT_TRUE(has("keep"));
  EXPECT_EQ(warnings(), "");
}

TEST_F(LayerTree, AnOpaqueWhiteoutAtTheTopHidesEveryLowerEntry) {
  apply_ok({tar_dir("etc/"), tar_file("etc/a", "a"), tar_file("b", "b")});
  apply_ok({tar_file("c", "c"), tar_file(".wh..wh..opq", "")});
  EXPECT_FALSE(has("etc"));
  EXPECT_FALSE(has("b"));
  EXPECT_TRUE(has("c"));
}

// The names an interrupted --in-place run leaves are elfprune's own: an
// image holding one must not pass for a half-pruned tree.
TEST_F(LayerTree, TheInPlaceJournalNameIsSkippedWithAWarning) {
  apply_ok({tar_file(".elfprune-in-place", "etc/passwd\n"), tar_file("etc", "x")});
  EXPECT_FALSE(has(".elfprune-in-place"));
  EXPECT_FALSE(on_disk(".elfprune-in-place"));
  EXPECT_NE(warnings().find("journal"), std::string::npos) << warnings();
}

}  // namespace
}  // namespace elfprune
