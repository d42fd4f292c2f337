#include "image/image_source.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "image/digest.hpp"
#include "image/image_test_support.hpp"
#include "image/layer_tree.hpp"
#include "test_support.hpp"
#include "util/path.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace elfprune {
namespace {

using test::image_config;
using test::make_tar;
using test::OciLayout;
using test::tar_file;
using test::TempDir;
using test::with_platform;
using test::with_ref_name;
using test::write_file;

std::string text_of(const Error& e) {
  return e.path + ": " + e.message;
}

class ImageSourceTest : public testing::Test {
 protected:
  ImageReference ref(const std::string& tag = "") const {
    auto r =
        parse_image_reference("oci:" + layout_.dir().string() + (tag.empty() ? "" : ":" + tag));
    EXPECT_TRUE(r.ok());
    return *r;
  }
  Result<ImageSource> open(const std::string& tag = "", const std::string& platform = "") {
    return open_image(ref(tag), platform, scratch_.path().string());
  }
  ImageSource open_ok(const std::string& tag = "", const std::string& platform = "") {
    auto r = open(tag, platform);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : text_of(r.error()));
    return r.ok() ? std::move(*r) : ImageSource{};
  }
  // An image whose Entrypoint names it, for telling which was chosen.
  json image(const std::string& name, const std::string& arch = "amd64") {
    return layout_.add_image({make_tar({tar_file(name, name)})},
                             {{"architecture", arch}, {"config", {{"Entrypoint", {name}}}}});
  }
  std::string blob_file(const json& descriptor) const {
    return (layout_.dir() / "blobs/sha256" /
            std::string(digest_hex(descriptor["digest"].get<std::string>())))
        .string();
  }

  TempDir dir_, scratch_;
  OciLayout layout_{dir_ / "layout"};
};

// ---------------------------------------------------------------------------
// OCI layouts

TEST_F(ImageSourceTest, ASingleManifestIsTakenWithItsConfigAndLayers) {
  const std::string l1 = make_tar({tar_file("a", "1")});
  const std::string l2 = make_tar({tar_file("b", "2")});
  json m = layout_.add_image({l1, l2}, {{"config",
                                         {{"Entrypoint", {"/bin/app"}},
                                          {"Cmd", {"--serve"}},
                                          {"WorkingDir", "/srv"},
                                          {"User", "app"}}}});
  layout_.write_index(json::array({m}));
  ImageSource src = open_ok();
  EXPECT_EQ(src.platform, "linux/amd64");
  EXPECT_EQ(src.run.entrypoint, std::vector<std::string>{"/bin/app"});
  EXPECT_EQ(src.run.cmd, std::vector<std::string>{"--serve"});
  EXPECT_EQ(src.run.working_dir, "/srv");
  EXPECT_EQ(src.run.user, "app");
  EXPECT_EQ(src.run.env, std::vector<std::string>{"PATH=/usr/bin:/bin"});
  EXPECT_EQ(src.config_digest, sha256_digest(src.config));
  EXPECT_EQ(sha256_digest(src.manifest), m["digest"].get<std::string>());
  ASSERT_EQ(src.layers.size(), 2u);
  EXPECT_EQ(src.layers[0].diff_id, sha256_digest(l1));
  EXPECT_EQ(src.layers[1].diff_id, sha256_digest(l2));
  EXPECT_TRUE(is_sha256_digest(src.layers[0].digest));
  EXPECT_EQ(src.layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
  EXPECT_TRUE(fs::is_regular_file(src.layers[0].file));
  EXPECT_EQ(fs::file_size(src.layers[0].file), src.layers[0].size);
  EXPECT_TRUE(src.warnings.empty());
}

TEST_F(ImageSourceTest, ASingleManifestOfAnotherPlatformIsTakenWithAWarning) {
  layout_.write_index(json::array({image("arm", "arm64")}));
  ImageSource src = open_ok();
  EXPECT_EQ(src.platform, "linux/arm64");
  ASSERT_EQ(src.warnings.size(), 1u);
  EXPECT_NE(src.warnings[0].find("linux/arm64"), std::string::npos) << src.warnings[0];
}

// An index whose one manifest says it is for another platform has no
// usable platform (the issue's bad input): an error naming the ones it has,
// and --platform takes it.
TEST_F(ImageSourceTest, ASingleManifestForAnotherPlatformIsAnErrorUnlessAskedFor) {
  layout_.write_index(json::array({with_platform(image("arm", "arm64"), "linux", "arm64")}));
  auto r = open();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_NE(r.error().message.find("linux/arm64"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("--platform"), std::string::npos) << r.error().message;
}

// A descriptor that names no platform is taken; a config for another
// platform then says so in a warning.
TEST_F(ImageSourceTest, AManifestWithoutAPlatformIsTakenWithAWarningWhenItsConfigDiffers) {
  layout_.write_index(json::array({image("arm", "arm64")}));
  auto r = open();
  ASSERT_TRUE(r.ok()) << text_of(r.error());
  EXPECT_EQ(r->run.entrypoint, std::vector<std::string>{"arm"});
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("linux/arm64"), std::string::npos) << r->warnings[0];
}

TEST_F(ImageSourceTest, TheLayersOfTheManifestApplyAndMatchTheirDiffIds) {
  json m = layout_.add_image(
      {make_tar({tar_file("etc/a", "a")}), make_tar({tar_file("etc/b", "b")})}, json::object());
  layout_.write_index(json::array({m}));
  ImageSource src = open_ok();
  TempDir staging;
  auto tree = apply_layers(src, staging.path().string());
  ASSERT_TRUE(tree.ok()) << text_of(tree.error());
  EXPECT_TRUE(tree->nodes.count("etc/a"));
  EXPECT_TRUE(tree->nodes.count("etc/b"));
  EXPECT_EQ(tree->layers[1].digest, src.layers[1].digest);
}

// An index as `docker buildx` writes one: two platforms and an attestation.
class MultiPlatform : public ImageSourceTest {
 protected:
  void SetUp() override {
    json attestation = with_platform(image("attestation"), "unknown", "unknown");
    attestation["annotations"] = {{"vnd.docker.reference.type", "attestation-manifest"}};
    layout_.write_index(
        json::array({attestation, with_platform(image("amd"), "linux", "amd64"),
                     with_platform(image("arm", "arm64"), "linux", "arm64", "v8")}));
  }
};

TEST_F(MultiPlatform, LinuxAmd64IsTheDefault) {
  ImageSource src = open_ok();
  EXPECT_EQ(src.run.entrypoint, std::vector<std::string>{"amd"});
  EXPECT_EQ(src.platform, "linux/amd64");
  EXPECT_TRUE(src.warnings.empty());
}

TEST_F(MultiPlatform, PlatformPicksArm64) {
  ImageSource src = open_ok("", "linux/arm64");
  EXPECT_EQ(src.run.entrypoint, std::vector<std::string>{"arm"});
  EXPECT_EQ(src.platform, "linux/arm64");
}

TEST_F(MultiPlatform, AnAbsentPlatformIsAUsageErrorListingThePlatforms) {
  auto r = open("", "linux/s390x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  const std::string m = text_of(r.error());
  EXPECT_NE(m.find("linux/s390x"), std::string::npos) << m;
  EXPECT_NE(m.find("linux/amd64"), std::string::npos) << m;
  EXPECT_NE(m.find("linux/arm64"), std::string::npos) << m;
  EXPECT_EQ(m.find("unknown"), std::string::npos) << "an attestation is no platform: " << m;
}

TEST_F(ImageSourceTest, ANestedIndexIsDescendedInto) {
  json inner = {{"schemaVersion", 2},
                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                {"manifests", json::array({with_platform(image("arm", "arm64"), "linux", "arm64"),
                                           with_platform(image("amd"), "linux", "amd64")})}};
  json desc = layout_.blob_descriptor("application/vnd.oci.image.index.v1+json", inner.dump());
  layout_.write_index(json::array({with_ref_name(desc, "latest")}));
  EXPECT_EQ(open_ok().run.entrypoint, std::vector<std::string>{"amd"});
  EXPECT_EQ(open_ok("latest", "linux/arm64").run.entrypoint, std::vector<std::string>{"arm"});
}

TEST_F(ImageSourceTest, ATagIsChosenByItsRefName) {
  layout_.write_index(
      json::array({with_ref_name(image("one"), "v1"), with_ref_name(image("two"), "v2")}));
  ImageSource src = open_ok("v2");
  EXPECT_EQ(src.run.entrypoint, std::vector<std::string>{"two"});
  EXPECT_EQ(src.tag, "v2");
  EXPECT_EQ(open_ok("v1").run.entrypoint, std::vector<std::string>{"one"});
}

TEST_F(ImageSourceTest, AnUnknownTagIsAnErrorListingTheTags) {
  layout_.write_index(
      json::array({with_ref_name(image("one"), "v1"), with_ref_name(image("two"), "v2")}));
  auto r = open("v3");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  const std::string m = text_of(r.error());
  EXPECT_NE(m.find("v3"), std::string::npos) << m;
  EXPECT_NE(m.find("v1, v2"), std::string::npos) << m;
}

TEST_F(ImageSourceTest, SeveralUntaggedImagesWithoutPlatformsNeedATag) {
  layout_.write_index(
      json::array({with_ref_name(image("one"), "v1"), with_ref_name(image("two"), "v2")}));
  auto r = open();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_NE(text_of(r.error()).find("v1, v2"), std::string::npos) << text_of(r.error());
}

// ---------------------------------------------------------------------------
// Blobs that are not what their descriptors say

TEST_F(ImageSourceTest, AManifestWhoseContentDoesNotMatchItsDigestIsAnError) {
  json m = image("app");
  layout_.write_index(json::array({m}));
  std::string bytes = test::read_bytes(blob_file(m));
  bytes[bytes.find("app")] = 'A';  // same size, other content
  write_file(blob_file(m), bytes);
  auto r = open();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(text_of(r.error()).find("does not match its digest"), std::string::npos)
      << text_of(r.error());
}

TEST_F(ImageSourceTest, AManifestOfAnotherSizeThanItsDescriptorSaysIsAnError) {
  json m = image("app");
  m["size"] = m["size"].get<std::uint64_t>() + 1;
  layout_.write_index(json::array({m}));
  auto r = open();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(text_of(r.error()).find("bytes"), std::string::npos) << text_of(r.error());
}

TEST_F(ImageSourceTest, AMissingManifestBlobIsAnErrorSayingMissing) {
  json m = image("app");
  layout_.write_index(json::array({m}));
  fs::remove(blob_file(m));
  auto r = open();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(text_of(r.error()).find(m["digest"].get<std::string>()), std::string::npos)
      << text_of(r.error());
  EXPECT_NE(text_of(r.error()).find("missing"), std::string::npos) << text_of(r.error());
}

TEST_F(ImageSourceTest, AMissingLayerBlobIsAnErrorSayingMissing) {
  json m = image("app");
  layout_.write_index(json::array({m}));
  ImageSource src = open_ok();
  ASSERT_EQ(src.layers.size(), 1u);
  fs::remove(src.layers[0].file);
  TempDir staging;
  auto tree = apply_layers(src, staging.path().string());
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(text_of(tree.error()).find("missing"), std::string::npos) << text_of(tree.error());
}

TEST_F(ImageSourceTest, ALayerThatDoesNotMatchItsDigestIsAnError) {
  json m = image("app");
  layout_.write_index(json::array({m}));
  ImageSource src = open_ok();
  // Another valid layer of the same size in its place.
  const std::string tar = make_tar({tar_file("ap", "ap")}, test::TarFilter::Gzip);
  write_file(src.layers[0].file, tar);
  src.layers[0].size = tar.size();
  TempDir staging;
  auto tree = apply_layers(src, staging.path().string());
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(text_of(tree.error()).find("digest"), std::string::npos) << text_of(tree.error());
}

TEST_F(ImageSourceTest, ALayerThatDoesNotMatchItsDiffIdIsAnError) {
  json m = image("app");
  layout_.write_index(json::array({m}));
  ImageSource src = open_ok();
  src.layers[0].diff_id = sha256_digest("something else");
  TempDir staging;
  auto tree = apply_layers(src, staging.path().string());
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(text_of(tree.error()).find("diff_id"), std::string::npos) << text_of(tree.error());
}

TEST_F(ImageSourceTest, AConfigWithFewerDiffIdsThanLayersIsAnError) {
  const std::string l1 = make_tar({tar_file("a", "1")});
  const std::string l2 = make_tar({tar_file("b", "2")});
  json m = layout_.add_image({l1, l2},
                             {{"rootfs", {{"type", "layers"}, {"diff_ids", {sha256_digest(l1)}}}}});
  layout_.write_index(json::array({m}));
  auto r = open();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(text_of(r.error()).find("1 diff_ids for 2 layers"), std::string::npos)
      << text_of(r.error());
}

TEST_F(ImageSourceTest, ADescriptorWithAnInvalidDigestIsAnError) {
  json m = image("app");
  m["digest"] = "sha256:../../../../etc/passwd";
  layout_.write_index(json::array({m}));
  auto r = open();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(text_of(r.error()).find("is not sha256"), std::string::npos) << text_of(r.error());
}

TEST_F(ImageSourceTest, ADirectoryWithoutOciLayoutIsNotALayout) {
  fs::create_directories(layout_.dir());
  write_file(layout_.dir() / "index.json", "{}");
  auto r = open();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(text_of(r.error()).find("oci-layout"), std::string::npos) << text_of(r.error());
}

TEST_F(ImageSourceTest, AnIndexThatIsNotJsonIsAnError) {
  layout_.write_index(json::array());
  write_file(layout_.dir() / "index.json", "{\"manifests\": [");
  auto r = open();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(text_of(r.error()).find("index.json"), std::string::npos) << text_of(r.error());
}

// ---------------------------------------------------------------------------
// Archives

// A layout directory as an oci-archive tar.
TEST_F(ImageSourceTest, AnOciArchiveIsUnpackedAndRead) {
  layout_.write_index(json::array({with_ref_name(image("app"), "latest")}));
  std::vector<test::TarMember> members;
  for (const auto& [name, bytes] : test::files_below(layout_.dir())) {
    members.push_back(tar_file(name, bytes));
  }
  const fs::path archive = dir_ / "image.tar";
  write_file(archive, make_tar(members));
  auto ref = parse_image_reference("oci-archive:" + archive.string());
  ASSERT_TRUE(ref.ok());
  auto src = open_image(*ref, "", scratch_.path().string());
  ASSERT_TRUE(src.ok()) << text_of(src.error());
  EXPECT_EQ(src->run.entrypoint, std::vector<std::string>{"app"});
  EXPECT_EQ(src->tag, "latest");
  ASSERT_EQ(src->layers.size(), 1u);
  EXPECT_TRUE(path_under(src->layers[0].file, scratch_.path().string())) << src->layers[0].file;
}

// `docker save`: manifest.json, a config named by its hex digest, and each
// layer a plain tar in a directory of its own.
class DockerArchive : public ImageSourceTest {
 protected:
  struct Saved {
    std::string config;
    std::vector<std::string> layer_tars;
    std::vector<std::string> layer_names;
  };
  Saved saved_image(const std::string& name) {
    Saved s;
    s.layer_tars = {make_tar({tar_file("usr/bin/" + name, name)}),
                    make_tar({tar_file("etc/" + name, name)})};
    s.config = image_config(s.layer_tars, {{"config", {{"Entrypoint", {name}}}}}).dump();
    for (std::size_t i = 0; i < s.layer_tars.size(); ++i) {
      s.layer_names.push_back(std::string(digest_hex(sha256_digest(name + std::to_string(i)))) +
                              "/layer.tar");
    }
    return s;
  }
  // The archive of `images`, each with its RepoTags.
  fs::path save(const std::vector<std::pair<Saved, std::vector<std::string>>>& images) {
    json manifest = json::array();
    std::vector<test::TarMember> members;
    for (const auto& [s, tags] : images) {
      const std::string config_name = std::string(digest_hex(sha256_digest(s.config))) + ".json";
      members.push_back(tar_file(config_name, s.config));
      for (std::size_t i = 0; i < s.layer_tars.size(); ++i) {
        members.push_back(test::tar_dir(std::string(path_parent(s.layer_names[i])) + "/"));
        members.push_back(tar_file(s.layer_names[i], s.layer_tars[i]));
      }
      manifest.push_back({{"Config", config_name}, {"RepoTags", tags}, {"Layers", s.layer_names}});
    }
    members.push_back(tar_file("manifest.json", manifest.dump()));
    const fs::path file = dir_ / "saved.tar";
    write_file(file, make_tar(members));
    return file;
  }
  Result<ImageSource> open_archive(const fs::path& file, const std::string& tag = "") {
    auto r =
        parse_image_reference("docker-archive:" + file.string() + (tag.empty() ? "" : ":" + tag));
    EXPECT_TRUE(r.ok());
    return open_image(*r, "", scratch_.path().string());
  }
};

TEST_F(DockerArchive, IsReadWithItsConfigAndPlainLayers) {
  Saved s = saved_image("app");
  auto src = open_archive(save({{s, {"example/app:1.0"}}}));
  ASSERT_TRUE(src.ok()) << text_of(src.error());
  EXPECT_EQ(src->run.entrypoint, std::vector<std::string>{"app"});
  EXPECT_EQ(src->config, s.config);
  EXPECT_EQ(src->config_digest, sha256_digest(s.config));
  EXPECT_EQ(src->tag, "example/app:1.0");
  EXPECT_EQ(src->platform, "linux/amd64");
  ASSERT_EQ(src->layers.size(), 2u);
  EXPECT_EQ(src->layers[0].diff_id, sha256_digest(s.layer_tars[0]));
  EXPECT_EQ(src->layers[0].name, s.layer_names[0]);
  EXPECT_EQ(test::read_bytes(src->layers[1].file), s.layer_tars[1]);
  TempDir staging;
  auto tree = apply_layers(*src, staging.path().string());
  ASSERT_TRUE(tree.ok()) << text_of(tree.error());
  EXPECT_TRUE(tree->nodes.count("usr/bin/app"));
  EXPECT_TRUE(tree->nodes.count("etc/app"));
}

TEST_F(DockerArchive, TwoImagesWithoutATagAreAUsageError) {
  const fs::path file =
      save({{saved_image("a"), {"example/a:1"}}, {saved_image("b"), {"example/b:2"}}});
  auto r = open_archive(file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_NE(text_of(r.error()).find("example/a:1, example/b:2"), std::string::npos)
      << text_of(r.error());
}

TEST_F(DockerArchive, ANameAndTagPickAnImage) {
  const fs::path file =
      save({{saved_image("a"), {"example/a:1"}}, {saved_image("b"), {"example/b:2"}}});
  auto r = open_archive(file, "example/b:2");
  ASSERT_TRUE(r.ok()) << text_of(r.error());
  EXPECT_EQ(r->run.entrypoint, std::vector<std::string>{"b"});
}

TEST_F(DockerArchive, AConfigWhoseNameIsNotItsDigestIsAnError) {
  Saved s = saved_image("app");
  const fs::path file = save({{s, {"example/app:1.0"}}});
  // Rewrite the archive with the config's bytes changed but its name kept.
  std::vector<test::TarMember> members;
  for (const auto& m : test::read_tar(test::read_bytes(file))) {
    if (m.type == 'd') {
      members.push_back(test::tar_dir(m.name));
    } else {
      members.push_back(tar_file(
          m.name, m.name.ends_with(".json") && m.name != "manifest.json" ? m.data + " " : m.data));
    }
  }
  write_file(file, make_tar(members));
  auto r = open_archive(file);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(text_of(r.error()).find("does not match its digest"), std::string::npos)
      << text_of(r.error());
}

TEST_F(DockerArchive, AMemberNameWithDotDotIsAnError) {
  const fs::path file = dir_ / "evil.tar";
  write_file(file, make_tar({tar_file("../escaped", "x"), tar_file("manifest.json", "[]")}));
  auto r = open_archive(file);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(scratch_.path().parent_path() / "escaped"));
}

// ---------------------------------------------------------------------------
// The config alone

TEST(ImageConfig, ParsesTheRunConfigDiffIdsAndPlatform) {
  const std::string config = R"({"architecture":"arm64","os":"linux","variant":"v8",
    "config":{"Entrypoint":["/e"],"Cmd":["a","b"],"Env":["A=1"],"WorkingDir":"/w","User":"u"},
    "rootfs":{"type":"layers","diff_ids":["sha256:x"]}})";
  std::vector<std::string> diff_ids;
  std::string platform;
  auto run = parse_image_config(config, &diff_ids, &platform, "config");
  ASSERT_TRUE(run.ok()) << text_of(run.error());
  EXPECT_EQ(run->entrypoint, std::vector<std::string>{"/e"});
  EXPECT_EQ(run->cmd, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(run->env, std::vector<std::string>{"A=1"});
  EXPECT_EQ(run->working_dir, "/w");
  EXPECT_EQ(run->user, "u");
  EXPECT_EQ(platform, "linux/arm64/v8");
  EXPECT_EQ(diff_ids, std::vector<std::string>{"sha256:x"});
}

TEST(ImageConfig, WrongTypesAreIgnoredNotThrown) {
  const std::string config = R"({"architecture":5,"os":["linux"],
    "config":{"Entrypoint":"sh","Cmd":[1,"x",null],"Env":{"A":"1"},"WorkingDir":7},
    "rootfs":{"diff_ids":"sha256:x"}})";
  std::vector<std::string> diff_ids;
  std::string platform;
  auto run = parse_image_config(config, &diff_ids, &platform, "config");
  ASSERT_TRUE(run.ok()) << text_of(run.error());
  EXPECT_TRUE(run->entrypoint.empty());
  EXPECT_EQ(run->cmd, std::vector<std::string>{"x"});
  EXPECT_TRUE(run->env.empty());
  EXPECT_EQ(run->working_dir, "");
  EXPECT_TRUE(platform.empty());
  EXPECT_TRUE(diff_ids.empty());
}

TEST(ImageConfig, NotAnObjectOrNoRootfsIsAnError) {
  std::vector<std::string> diff_ids;
  EXPECT_FALSE(parse_image_config("[]", &diff_ids, nullptr, "config").ok());
  EXPECT_FALSE(parse_image_config("\"x\"", &diff_ids, nullptr, "config").ok());
  EXPECT_FALSE(parse_image_config("{", &diff_ids, nullptr, "config").ok());
  EXPECT_FALSE(parse_image_config("{}", &diff_ids, nullptr, "config").ok());
  EXPECT_TRUE(parse_image_config("{}", nullptr, nullptr, "config").ok());
}

// A config nested a million arrays deep parses without recursion but would
// overflow the stack when written back: refused while reading.
TEST(ImageConfigParse, JsonNestedTooDeepIsAnError) {
  const std::string deep = "{\"config\":{},\"rootfs\":{\"diff_ids\":[]},\"x\":" +
                           std::string(1000000, '[') + std::string(1000000, ']') + "}";
  std::vector<std::string> diff_ids;
  auto r = parse_image_config(deep, &diff_ids, nullptr, "config");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("nested deeper"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace elfprune
