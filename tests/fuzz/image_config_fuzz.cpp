// An image's JSON documents come from whoever made the image. The input is
// offered three ways: as a config to parse_image_config; as the index.json
// of an OCI layout; and as a blob of that layout which a fixed index.json
// names, once as a manifest and once as a nested index. The layout also
// holds a fixed config and an empty layer (1024 zero bytes), so that a
// manifest naming their digests (make_seeds.py writes such seeds) gets past
// the blob checks to read_config. open_image must return a value or an
// error, and a value must be consistent with the bytes it came from.
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "fuzz_targets.hpp"
#include "image/digest.hpp"
#include "image/image_source.hpp"
#include "image/reference.hpp"
#include "test_support.hpp"
#include "util/path.hpp"
#include "util/remove_tree.hpp"

namespace fs = std::filesystem;

namespace elfprune::fuzz {
namespace {

constexpr std::string_view kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view kIndexType = "application/vnd.oci.image.index.v1+json";

// The same bytes as make_seeds.py's FIXED_CONFIG.
std::string fixed_layer() {
  return std::string(1024, '\0');
}
std::string fixed_config() {
  return R"({"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/sh"]},)"
         R"("rootfs":{"type":"layers","diff_ids":[")" +
         sha256_digest(fixed_layer()) + R"("]}})";
}

class Layout {
 public:
  Layout() {
    fs::create_directories(dir_.path() / "layout/blobs/sha256");
    fs::create_directories(dir_.path() / "scratch");
    test::write_file(layout() / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    for (const std::string& blob : {fixed_config(), fixed_layer()}) {
      fixed_.push_back(add_blob(blob));
    }
    ref_ = *parse_image_reference("oci:" + layout().string());
  }

  fs::path layout() const { return dir_.path() / "layout"; }
  std::string scratch() const { return (dir_.path() / "scratch").string(); }
  const ImageReference& ref() const { return ref_; }

  std::string add_blob(std::string_view bytes) {
    const std::string digest = sha256_digest(bytes);
    test::write_file(blob_path(digest), bytes);
    return digest;
  }
  // A blob of this input, not one of the fixed ones.
  void remove_blob(const std::string& digest) {
    for (const auto& f : fixed_) {
      if (f == digest) return;
    }
    fs::remove(blob_path(digest));
  }
  void write_index(std::string_view bytes) const {
    test::write_file(layout() / "index.json", bytes);
  }

 private:
  fs::path blob_path(const std::string& digest) const {
    return layout() / "blobs/sha256" / std::string(digest_hex(digest));
  }

  test::TempDir dir_;
  std::vector<std::string> fixed_;
  ImageReference ref_;
};

bool is_hex64(std::string_view s) {
  return is_sha256_digest("sha256:" + std::string(s));
}

// What open_image returned agrees with itself and stays in the layout.
void check_source(const Layout& layout, const ImageSource& src) {
  FUZZ_CHECK(src.config_digest == sha256_digest(src.config));
  std::vector<std::string> diff_ids;
  auto run = parse_image_config(src.config, &diff_ids, nullptr, "config");
  FUZZ_CHECK(run.ok());
  FUZZ_CHECK(diff_ids.size() == src.layers.size());
  const std::string blobs = (layout.layout() / "blobs/sha256").string();
  for (std::size_t i = 0; i < src.layers.size(); ++i) {
    const LayerBlob& l = src.layers[i];
    FUZZ_CHECK(l.diff_id == diff_ids[i]);
    FUZZ_CHECK(is_sha256_digest(l.diff_id));
    FUZZ_CHECK(is_sha256_digest(l.digest));
    FUZZ_CHECK(path_parent(l.file) == blobs);
    FUZZ_CHECK(is_hex64(path_base(l.file)));
  }
  // Clean up whatever scratch a future change might make.
  remove_tree(layout.scratch());
  ::mkdir(layout.scratch().c_str(), 0700);
}

void open_and_check(const Layout& layout, const std::string& platform) {
  auto src = open_image(layout.ref(), platform, layout.scratch());
  if (src.ok()) check_source(layout, *src);
}

}  // namespace

void image_config(std::string_view bytes) {
  static Layout layout;
  const std::string input(bytes);

  std::vector<std::string> diff_ids;
  std::string platform;
  auto run = parse_image_config(input, &diff_ids, &platform, "config");
  if (run.ok()) FUZZ_CHECK(platform.empty() || platform.find('/') != std::string::npos);

  // As index.json.
  layout.write_index(input);
  open_and_check(layout, "");
  open_and_check(layout, "linux/arm64");

  // As a blob the index names: a manifest, then a nested index.
  const std::string digest = layout.add_blob(input);
  for (std::string_view type : {kManifestType, kIndexType}) {
    layout.write_index(R"({"schemaVersion":2,"manifests":[{"mediaType":")" + std::string(type) +
                       R"(","digest":")" + digest + R"(","size":)" + std::to_string(input.size()) +
                       "}]}");
    open_and_check(layout, "");
  }
  layout.remove_blob(digest);
}

}  // namespace elfprune::fuzz
