// An image where a ROOT goes: opened into a staging tree (src/image/), the
// prune pipeline run on that tree like on any root, and the result written
// as a new image. The pipeline never knows it pruned an image.
#pragma once

#include <memory>
#include <string>

#include "image/config_entries.hpp"
#include "image/image_source.hpp"
#include "image/image_writer.hpp"
#include "image/layer_tree.hpp"
#include "prune/pipeline.hpp"

namespace elfprune {

// An image's layers applied into a temporary directory, removed with this.
class ImageWorkspace {
 public:
  // The staging tree goes to $TMPDIR when set, else /dev/shm when it has
  // room, else /var/tmp.
  static Result<std::unique_ptr<ImageWorkspace>> open(
      const std::string& reference, const std::string& platform,
      const std::function<void(std::string_view, std::size_t, std::size_t)>& progress);
  ~ImageWorkspace();
  ImageWorkspace(const ImageWorkspace&) = delete;
  ImageWorkspace& operator=(const ImageWorkspace&) = delete;

  const std::string& root() const { return tree_.staging; }
  const ImageSource& source() const { return source_; }
  const ImageTree& tree() const { return tree_; }

 private:
  ImageWorkspace() = default;
  std::string dir_;  // holds scratch/ and rootfs/
  ImageSource source_;
  ImageTree tree_;
};

struct ImageOptions {
  std::string platform;
  bool config_entries = true;
  std::string out;  // an image reference; empty: report only (--dry-run)
  LayerMode layers = LayerMode::Squash;
  Compression compression = Compression::Gzip;
  std::optional<std::int64_t> source_date_epoch;
  std::string created_by;
};

struct ImagePrune {
  std::unique_ptr<ImageWorkspace> workspace;
  std::unique_ptr<PruneContext> context;  // its report carries the image section
};

// `options.root` is the image reference; its mode DryRun (a dry run or
// `why`: plan_only) or Out (an image --out, image.out set).
Result<ImagePrune> prune_image(PruneOptions options, const ImageOptions& image, bool plan_only);

}  // namespace elfprune
