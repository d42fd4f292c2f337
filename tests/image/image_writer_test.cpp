#include "image/image_writer.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "image/digest.hpp"
#include "image/image_test_support.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace elfprune {
namespace {

using test::decompress;
using test::make_tar;
using test::OciLayout;
using test::read_bytes;
using test::read_tar;
using test::ReadMember;
using test::tar_dir;
using test::tar_file;
using test::tar_hardlink;
using test::TarMember;
using test::TempDir;
using test::write_file;

std::string text_of(const Error& e) {
  return e.path + ": " + e.message;
}

// What an OCI layout written by write_image holds, read back by hand.
struct ReadLayout {
  json index, manifest, config;
  std::vector<std::string> layer_blobs;  // as stored (compressed)
};

ReadLayout read_layout(const fs::path& dir) {
  ReadLayout out;
  auto blob = [&](const std::string& digest) {
    EXPECT_TRUE(is_sha256_digest(digest)) << digest;
    const std::string bytes = read_bytes(dir / "blobs/sha256" / std::string(digest_hex(digest)));
    EXPECT_EQ(sha256_digest(bytes), digest);
    return bytes;
  };
  out.index = json::parse(read_bytes(dir / "index.json"));
  EXPECT_EQ(json::parse(read_bytes(dir / "oci-layout"))["imageLayoutVersion"], "1.0.0");
  EXPECT_EQ(out.index["manifests"].size(), 1u);
  const json& desc = out.index["manifests"][0];
  const std::string mbytes = blob(desc["digest"]);
  EXPECT_EQ(desc["size"].get<std::size_t>(), mbytes.size());
  out.manifest = json::parse(mbytes);
  const std::string cbytes = blob(out.manifest["config"]["digest"]);
  EXPECT_EQ(out.manifest["config"]["size"].get<std::size_t>(), cbytes.size());
  out.config = json::parse(cbytes);
  for (const auto& l : out.manifest["layers"]) {
    out.layer_blobs.push_back(blob(l["digest"]));
    EXPECT_EQ(l["size"].get<std::size_t>(), out.layer_blobs.back().size());
  }
  return out;
}

std::vector<std::string> names_of(const std::vector<ReadMember>& members) {
  std::vector<std::string> names;
  for (const auto& m : members) names.push_back(m.name);
  return names;
}

const ReadMember* member(const std::vector<ReadMember>& members, const std::string& name) {
  for (const auto& m : members) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::string listing(const std::vector<ReadMember>& members) {
  std::string out;
  for (const auto& m : members) {
    out += std::string(1, m.type) + " " + m.name + (m.link.empty() ? "" : " -> " + m.link) + "\n";
  }
  return out;
}

// Every hardlink of a tar names a member before it: the tar extracts alone.
void expect_hardlinks_resolve(const std::vector<ReadMember>& members) {
  std::set<std::string> seen;
  for (const auto& m : members) {
    if (m.type == 'h') {
      EXPECT_TRUE(seen.count(m.link))
          << m.name << " links to " << m.link << ", which the tar does not have before it:\n"
          << listing(members);
    }
    std::string name = m.name;
    if (!name.empty() && name.back() == '/') name.pop_back();
    seen.insert(name);
  }
}

// A two-layer image in an OCI layout, opened and applied.
class ImageWriterTest : public testing::Test {
 protected:
  void SetUp() override { build(json::object()); }

  void build(const json& config_fields) {
    TarMember tool = tar_file("usr/bin/tool", "tool", 0755);
    tool.uid = 1000;
    tool.gid = 1000;
    layer1_ = make_tar({tar_dir("usr/"), tar_dir("usr/bin/"), tar_file("usr/bin/app", "app", 0755),
                        tool, tar_hardlink("usr/bin/tool-link", "usr/bin/tool"),
                        tar_dir("usr/share/"), tar_dir("usr/share/doc/"),
                        tar_file("usr/share/doc/README", "readme"), tar_dir("etc/"),
                        tar_file("etc/config", "config"), tar_file("var/cache/apt/pkgcache", "c")});
    layer2_ =
        make_tar({tar_file("etc/extra", "extra"), tar_file("usr/share/doc/CHANGES", "changes"),
                  tar_dir("app/"), tar_file("app/main.js", "main"), tar_file("var/.wh.cache", "")});
    OciLayout layout(dir_ / "in");
    json m = layout.add_image({layer1_, layer2_}, config_fields);
    layout.write_index(json::array({test::with_ref_name(m, "v1")}));
    auto ref = parse_image_reference("oci:" + layout.dir().string());
    ASSERT_TRUE(ref.ok());
    auto src = open_image(*ref, "", (dir_ / "scratch").string());
    ASSERT_TRUE(src.ok()) << text_of(src.error());
    src_ = std::move(*src);
    staging_ = dir_ / "staging";
    fs::remove_all(staging_);
    fs::create_directories(staging_);
    auto tree = apply_layers(src_, staging_.string());
    ASSERT_TRUE(tree.ok()) << text_of(tree.error());
    tree_ = std::move(*tree);
  }

  Result<WrittenImage> write(const std::string& out, const std::unordered_set<std::string>& removed,
                             LayerMode mode = LayerMode::Squash,
                             const std::unordered_set<std::string>& edited = {},
                             std::optional<std::int64_t> epoch = std::nullopt) {
    auto ref = parse_image_reference(out);
    EXPECT_TRUE(ref.ok()) << out;
    ImageWriteOptions o;
    o.out = *ref;
    o.layers = mode;
    o.source_date_epoch = epoch;
    o.created_by = "elfprune prune test";
    return write_image(src_, tree_, removed, edited, o);
  }
  WrittenImage write_ok(const std::string& out, const std::unordered_set<std::string>& removed,
                        LayerMode mode = LayerMode::Squash,
                        const std::unordered_set<std::string>& edited = {},
                        std::optional<std::int64_t> epoch = std::nullopt) {
    auto r = write(out, removed, mode, edited, epoch);
    EXPECT_TRUE(r.ok()) << text_of(r.error());
    return r.ok() ? std::move(*r) : WrittenImage{};
  }
  std::string oci(const std::string& name) const { return "oci:" + (out_ / name).string(); }

  TempDir dir_, out_;
  std::string layer1_, layer2_;
  ImageSource src_;
  fs::path staging_;
  ImageTree tree_;
};

// ---------------------------------------------------------------------------
// Squashed, to an OCI layout

TEST_F(ImageWriterTest, SquashedLayoutHasOneLayerWhoseDiffIdIsTheTarsDigest) {
  WrittenImage w = write_ok(oci("o"), {});
  ReadLayout l = read_layout(out_ / "o");
  ASSERT_EQ(l.layer_blobs.size(), 1u);
  ASSERT_EQ(l.config["rootfs"]["diff_ids"].size(), 1u);
  EXPECT_EQ(l.config["rootfs"]["diff_ids"][0], sha256_digest(decompress(l.layer_blobs[0])));
  EXPECT_EQ(l.manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
  EXPECT_EQ(l.index["manifests"][0]["digest"], w.manifest_digest);
  EXPECT_EQ(l.manifest["config"]["digest"], w.config_digest);
  ASSERT_EQ(w.layers.size(), 1u);
  EXPECT_EQ(l.manifest["layers"][0]["digest"], w.layers[0].digest);
  EXPECT_FALSE(w.layers[0].reused);
  EXPECT_EQ(l.index["manifests"][0]["platform"]["os"], "linux");
  EXPECT_EQ(l.index["manifests"][0]["platform"]["architecture"], "amd64");
  EXPECT_EQ(l.index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "v1");
}

TEST_F(ImageWriterTest, TheConfigIsKeptWholeWithOneMoreHistoryEntry) {
  write_ok(oci("o"), {"usr/share/doc/README"});
  ReadLayout l = read_layout(out_ / "o");
  const json in = json::parse(src_.config);
  EXPECT_EQ(l.config["config"], in["config"]);
  EXPECT_EQ(l.config["created"], in["created"]);
  ASSERT_EQ(l.config["history"].size(), in["history"].size() + 1);
  for (std::size_t i = 0; i < in["history"].size(); ++i) {
    EXPECT_EQ(l.config["history"][i]["empty_layer"], true) << i;
  }
  const json& last = l.config["history"].back();
  EXPECT_EQ(last["created_by"], "elfprune prune test");
  EXPECT_FALSE(last.contains("empty_layer"));
}

TEST_F(ImageWriterTest, RemovedPathsAreAbsentFromTheLayer) {
  write_ok(oci("o"), {"usr/share/doc/README", "app/main.js"});
  ReadLayout l = read_layout(out_ / "o");
  const auto members = read_tar(l.layer_blobs[0]);
  EXPECT_EQ(member(members, "usr/share/doc/README"), nullptr) << listing(members);
  EXPECT_EQ(member(members, "app/main.js"), nullptr) << listing(members);
  const ReadMember* changes = member(members, "usr/share/doc/CHANGES");
  ASSERT_NE(changes, nullptr) << listing(members);
  EXPECT_EQ(changes->data, "changes");
  const ReadMember* tool = member(members, "usr/bin/tool");
  ASSERT_NE(tool, nullptr) << listing(members);
  EXPECT_EQ(tool->data, "tool");
  EXPECT_EQ(tool->mode, 0755u);
  EXPECT_EQ(tool->uid, 1000);
  EXPECT_EQ(tool->mtime, 1700000000);
  ASSERT_NE(member(members, "app/"), nullptr) << listing(members);
}

TEST_F(ImageWriterTest, ASquashedLayerHasNoWhiteoutsNorWhatTheyRemoved) {
  write_ok(oci("o"), {});
  ReadLayout l = read_layout(out_ / "o");
  const auto members = read_tar(l.layer_blobs[0]);
  for (const auto& m : members) {
    EXPECT_EQ(m.name.find(".wh."), std::string::npos) << listing(members);
    EXPECT_NE(m.name.rfind("var/cache", 0), 0u) << listing(members);
  }
  EXPECT_NE(member(members, "var/"), nullptr) << listing(members);
}

TEST_F(ImageWriterTest, HardlinksAreWrittenAsTarHardlinks) {
  write_ok(oci("o"), {});
  ReadLayout l = read_layout(out_ / "o");
  const auto members = read_tar(l.layer_blobs[0]);
  const ReadMember* first = member(members, "usr/bin/tool");
  const ReadMember* second = member(members, "usr/bin/tool-link");
  ASSERT_NE(first, nullptr) << listing(members);
  ASSERT_NE(second, nullptr) << listing(members);
  EXPECT_EQ(first->type, 'f');
  EXPECT_EQ(second->type, 'h');
  EXPECT_EQ(second->link, "usr/bin/tool");
  expect_hardlinks_resolve(members);
}

TEST_F(ImageWriterTest, RemovingTheFirstOfTwoHardlinksKeepsTheContentInTheOther) {
  write_ok(oci("o"), {"usr/bin/tool"});
  ReadLayout l = read_layout(out_ / "o");
  const auto members = read_tar(l.layer_blobs[0]);
  EXPECT_EQ(member(members, "usr/bin/tool"), nullptr) << listing(members);
  const ReadMember* link = member(members, "usr/bin/tool-link");
  ASSERT_NE(link, nullptr) << listing(members);
  EXPECT_EQ(link->type, 'f');
  EXPECT_EQ(link->data, "tool");
}

TEST_F(ImageWriterTest, WritingTwiceGivesTheSameBytes) {
  write_ok(oci("a"), {"usr/share/doc/README"});
  write_ok(oci("b"), {"usr/share/doc/README"});
  const auto a = test::files_below(out_ / "a");
  const auto b = test::files_below(out_ / "b");
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(a[i].second == b[i].second) << a[i].first << " differs";
  }
}

TEST_F(ImageWriterTest, SourceDateEpochSetsCreated) {
  write_ok(oci("o"), {}, LayerMode::Squash, {}, 1700000000);
  ReadLayout l = read_layout(out_ / "o");
  EXPECT_EQ(l.config["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(l.config["history"].back()["created"], "2023-11-14T22:13:20Z");
}

TEST_F(ImageWriterTest, ZstdAndUncompressedLayersHaveTheirMediaTypes) {
  struct Case {
    Compression compression;
    const char* media;
    const char* dir;
  };
  for (const Case& k :
       {Case{Compression::Zstd, "application/vnd.oci.image.layer.v1.tar+zstd", "zstd"},
        Case{Compression::None, "application/vnd.oci.image.layer.v1.tar", "none"}}) {
    auto ref = parse_image_reference(oci(k.dir));
    ASSERT_TRUE(ref.ok());
    ImageWriteOptions o;
    o.out = *ref;
    o.compression = k.compression;
    auto w = write_image(src_, tree_, {}, {}, o);
    ASSERT_TRUE(w.ok()) << text_of(w.error());
    ReadLayout l = read_layout(ref->path);
    EXPECT_EQ(l.manifest["layers"][0]["mediaType"], k.media);
    EXPECT_EQ(l.config["rootfs"]["diff_ids"][0], sha256_digest(decompress(l.layer_blobs[0])));
  }
}

// ---------------------------------------------------------------------------
// Layer by layer

TEST_F(ImageWriterTest, KeptLayersThatListNoRemovedPathAreTheOriginalBlobs) {
  WrittenImage w = write_ok(oci("o"), {"app/main.js"}, LayerMode::Keep);
  ASSERT_EQ(w.layers.size(), 2u);
  EXPECT_TRUE(w.layers[0].reused);
  EXPECT_EQ(w.layers[0].digest, src_.layers[0].digest);
  EXPECT_EQ(w.layers[0].diff_id, src_.layers[0].diff_id);
  EXPECT_FALSE(w.layers[1].reused);
  ReadLayout l = read_layout(out_ / "o");
  ASSERT_EQ(l.layer_blobs.size(), 2u);
  EXPECT_EQ(l.layer_blobs[0], read_bytes(src_.layers[0].file));
  EXPECT_EQ(l.manifest["layers"][0]["digest"], src_.layers[0].digest);
  const auto members = read_tar(l.layer_blobs[1]);
  EXPECT_EQ(member(members, "app/main.js"), nullptr) << listing(members);
  EXPECT_NE(member(members, "etc/extra"), nullptr) << listing(members);
  ASSERT_EQ(l.config["rootfs"]["diff_ids"].size(), 2u);
  EXPECT_EQ(l.config["rootfs"]["diff_ids"][0], src_.layers[0].diff_id);
  EXPECT_EQ(l.config["rootfs"]["diff_ids"][1], sha256_digest(decompress(l.layer_blobs[1])));
  // Layer by layer, the old history entries keep their layers.
  const json in = json::parse(src_.config);
  ASSERT_EQ(l.config["history"].size(), in["history"].size() + 1);
  EXPECT_FALSE(l.config["history"][0].contains("empty_layer"));
  EXPECT_EQ(l.config["history"].back()["empty_layer"], true);
}

TEST_F(ImageWriterTest, AnEditedFileIsRewrittenFromTheStagingTree) {
  write_file(staging_ / "etc/config", "edited");
  WrittenImage w = write_ok(oci("o"), {}, LayerMode::Keep, {"etc/config"});
  ASSERT_EQ(w.layers.size(), 2u);
  EXPECT_FALSE(w.layers[0].reused);
  EXPECT_TRUE(w.layers[1].reused);
  ReadLayout l = read_layout(out_ / "o");
  const auto members = read_tar(l.layer_blobs[0]);
  const ReadMember* config = member(members, "etc/config");
  ASSERT_NE(config, nullptr) << listing(members);
  EXPECT_EQ(config->data, "edited");
  expect_hardlinks_resolve(members);
}

TEST_F(ImageWriterTest, ARewrittenLayerKeepsItsHardlinks) {
  WrittenImage w = write_ok(oci("o"), {"usr/share/doc/README"}, LayerMode::Keep);
  EXPECT_FALSE(w.layers[0].reused);
  ReadLayout l = read_layout(out_ / "o");
  const auto members = read_tar(l.layer_blobs[0]);
  EXPECT_EQ(member(members, "usr/share/doc/README"), nullptr) << listing(members);
  const ReadMember* link = member(members, "usr/bin/tool-link");
  ASSERT_NE(link, nullptr) << listing(members);
  EXPECT_EQ(link->type, 'h');
  expect_hardlinks_resolve(members);
}

// A hardlink of layer 1 whose path a later layer replaces, to a file the
// prune removes: rewritten, layer 1 must not name a target it lost.
// Two layers written as a layout, applied, and written back with
// --layers keep without `removed`.
Result<WrittenImage> keep_layers(const fs::path& dir, const fs::path& out, const std::string& l1,
                                 const std::string& l2,
                                 const std::unordered_set<std::string>& removed) {
  OciLayout layout(dir / "in");
  layout.write_index(json::array({layout.add_image({l1, l2}, json::object())}));
  ELFPRUNE_TRY_ASSIGN(auto ref, parse_image_reference("oci:" + layout.dir().string()));
  ELFPRUNE_TRY_ASSIGN(auto src, open_image(ref, "", (dir / "scratch").string()));
  fs::create_directories(dir / "staging");
  ELFPRUNE_TRY_ASSIGN(auto tree, apply_layers(src, (dir / "staging").string()));
  ImageWriteOptions o;
  o.out = *parse_image_reference("oci:" + (out / "o").string());
  o.layers = LayerMode::Keep;
  return write_image(src, tree, removed, {}, o);
}

TEST(ImageWriterKeep, AHardlinkToARemovedFileStaysExtractableWhenALaterLayerReplacesIt) {
  TempDir dir, out;
  const std::string l1 =
      make_tar({tar_file("bin/a", "a"), tar_hardlink("bin/b", "bin/a"), tar_file("bin/c", "c")});
  const std::string l2 = make_tar({tar_file("bin/b", "new b")});
  auto w = keep_layers(dir.path(), out.path(), l1, l2, {"bin/a"});
  ASSERT_TRUE(w.ok()) << text_of(w.error());
  ReadLayout l = read_layout(out / "o");
  ASSERT_EQ(l.layer_blobs.size(), 2u);
  const auto members = read_tar(l.layer_blobs[0]);
  EXPECT_EQ(member(members, "bin/a"), nullptr) << listing(members);
  expect_hardlinks_resolve(members);
}

// Layer 2 hardlinks to a file of layer 1 that the prune removes, and keeps
// the link: layer 2 is rewritten with the content (its hardlink would name
// nothing), not reused as it was.
TEST(ImageWriterKeep, ALayerLinkingToAFileRemovedFromALowerLayerIsNotReused) {
  TempDir dir, out;
  const std::string l1 = make_tar({tar_file("usr/lib/libfoo.so.1", "foo"), tar_file("etc/x", "x")});
  const std::string l2 = make_tar({tar_hardlink("app/libfoo.so", "usr/lib/libfoo.so.1")});
  auto w = keep_layers(dir.path(), out.path(), l1, l2, {"usr/lib/libfoo.so.1"});
  ASSERT_TRUE(w.ok()) << text_of(w.error());
  ASSERT_EQ(w->layers.size(), 2u);
  EXPECT_FALSE(w->layers[1].reused);
  ReadLayout l = read_layout(out / "o");
  ASSERT_EQ(l.layer_blobs.size(), 2u);
  const auto members = read_tar(l.layer_blobs[1]);
  const ReadMember* lib = member(members, "app/libfoo.so");
  ASSERT_NE(lib, nullptr) << listing(members);
  EXPECT_EQ(lib->data, "foo");
  expect_hardlinks_resolve(members);
}

// ---------------------------------------------------------------------------
// Other outputs

TEST_F(ImageWriterTest, DockerArchiveHasAManifestListingPlainLayers) {
  const fs::path file = out_ / "image.tar";
  write_ok("docker-archive:" + file.string() + ":example/app:pruned", {"app/main.js"});
  const auto members = read_tar(read_bytes(file));
  const ReadMember* manifest_member = member(members, "manifest.json");
  ASSERT_NE(manifest_member, nullptr) << listing(members);
  const json manifest = json::parse(manifest_member->data);
  ASSERT_TRUE(manifest.is_array());
  ASSERT_EQ(manifest.size(), 1u);
  EXPECT_EQ(manifest[0]["RepoTags"], json::array({"example/app:pruned"}));
  ASSERT_EQ(manifest[0]["Layers"].size(), 1u);
  const ReadMember* layer = member(members, manifest[0]["Layers"][0].get<std::string>());
  ASSERT_NE(layer, nullptr) << listing(members);
  EXPECT_TRUE(decompress(layer->data) == layer->data) << "a docker-archive layer is a plain tar";
  const ReadMember* config = member(members, manifest[0]["Config"].get<std::string>());
  ASSERT_NE(config, nullptr) << listing(members);
  EXPECT_EQ(json::parse(config->data)["rootfs"]["diff_ids"][0], sha256_digest(layer->data));
  // And it reads back.
  TempDir scratch, staging;
  auto src = open_image(*parse_image_reference("docker-archive:" + file.string()), "",
                        scratch.path().string());
  ASSERT_TRUE(src.ok()) << text_of(src.error());
  auto tree = apply_layers(*src, staging.path().string());
  ASSERT_TRUE(tree.ok()) << text_of(tree.error());
  EXPECT_TRUE(tree->nodes.count("usr/bin/app"));
  EXPECT_FALSE(tree->nodes.count("app/main.js"));
}

// docker-archive layers are plain tars: gzip inputs are rewritten, never
// reused; the whiteouts of a kept layer stay in it.
TEST_F(ImageWriterTest, DockerArchiveLayerByLayerHasPlainTarsWithTheirWhiteouts) {
  const fs::path file = out_ / "image.tar";
  WrittenImage w = write_ok("docker-archive:" + file.string(), {}, LayerMode::Keep);
  ASSERT_EQ(w.layers.size(), 2u);
  EXPECT_FALSE(w.layers[0].reused);
  EXPECT_FALSE(w.layers[1].reused);
  const auto members = read_tar(read_bytes(file));
  const ReadMember* manifest_member = member(members, "manifest.json");
  ASSERT_NE(manifest_member, nullptr) << listing(members);
  const json manifest = json::parse(manifest_member->data);
  ASSERT_EQ(manifest[0]["Layers"].size(), 2u);
  const ReadMember* second = member(members, manifest[0]["Layers"][1].get<std::string>());
  ASSERT_NE(second, nullptr) << listing(members);
  EXPECT_TRUE(decompress(second->data) == second->data) << "a docker-archive layer is a plain tar";
  const auto layer = read_tar(second->data);
  EXPECT_NE(member(layer, "var/.wh.cache"), nullptr) << listing(layer);
}

TEST_F(ImageWriterTest, OciArchiveIsATarOfTheLayout) {
  const fs::path file = out_ / "image.tar";
  write_ok("oci-archive:" + file.string(), {});
  const auto members = read_tar(read_bytes(file));
  const auto names = names_of(members);
  EXPECT_NE(std::find(names.begin(), names.end(), "oci-layout"), names.end()) << listing(members);
  EXPECT_NE(std::find(names.begin(), names.end(), "index.json"), names.end()) << listing(members);
  EXPECT_TRUE(std::any_of(names.begin(), names.end(), [](const std::string& n) {
    return n.rfind("blobs/sha256/", 0) == 0 && n.size() == 13 + 64;
  })) << listing(members);
  TempDir scratch;
  auto src = open_image(*parse_image_reference("oci-archive:" + file.string()), "",
                        scratch.path().string());
  ASSERT_TRUE(src.ok()) << text_of(src.error());
  EXPECT_EQ(src->layers.size(), 1u);
  // Nothing of the work is left beside the output.
  std::vector<std::string> beside;
  for (const auto& e : fs::directory_iterator(out_.path())) beside.push_back(e.path().filename());
  EXPECT_EQ(beside, std::vector<std::string>{"image.tar"});
}

TEST_F(ImageWriterTest, AnEmptyDirectoryIsAValidOciOutput) {
  fs::create_directories(out_ / "empty");
  write_ok(oci("empty"), {});
  EXPECT_TRUE(fs::exists(out_ / "empty/index.json"));
}

// As its blobs (0644) and blobs/ (0755) are: an image another user (a
// rootless podman, a CI step) can read.
TEST_F(ImageWriterTest, TheLayoutDirectoryIsReadableByOthers) {
  const mode_t umask_before = ::umask(022);
  write_ok(oci("o"), {});
  ::umask(umask_before);
  struct stat st {};
  ASSERT_EQ(::stat((out_ / "o").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0755, 0755u) << std::oct << (st.st_mode & 07777);
  ASSERT_EQ(::stat((out_ / "o/blobs").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0755, 0755u) << std::oct << (st.st_mode & 07777);
}

TEST_F(ImageWriterTest, AnExistingNonEmptyDirectoryIsAUsageErrorAndStaysAsItWas) {
  write_file(out_ / "full/mine.txt", "mine");
  auto r = write(oci("full"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_EQ(test::files_below(out_ / "full"),
            (std::vector<std::pair<std::string, std::string>>{{"mine.txt", "mine"}}));
  std::vector<std::string> beside;
  for (const auto& e : fs::directory_iterator(out_.path())) beside.push_back(e.path().filename());
  EXPECT_EQ(beside, std::vector<std::string>{"full"});
}

TEST_F(ImageWriterTest, AnExistingArchiveIsAUsageError) {
  write_file(out_ / "image.tar", "old");
  auto r = write("oci-archive:" + (out_ / "image.tar").string(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_EQ(read_bytes(out_ / "image.tar"), "old");
}

// The config comes from the image: a field of an unexpected type is the
// image's problem to report, not an exception out of the writer.
TEST_F(ImageWriterTest, ACreatedFieldThatIsNotAStringDoesNotThrow) {
  build({{"created", 1700000000}});
  Result<WrittenImage> r = make_error("", "not run");
  EXPECT_NO_THROW(r = write(oci("o"), {}));
}

}  // namespace
}  // namespace elfprune
